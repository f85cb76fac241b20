"""Pure-Python provisioning core: no Qt, no sockets, no threads."""
