"""Preflight of the stage-2 server: a client per protocol and the run that judges each device."""
