"""The live view: devices, transfers, log and syslog pages and their models."""
