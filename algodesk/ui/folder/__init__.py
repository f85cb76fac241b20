"""The served folder: its files, findings and the folder simulator."""
