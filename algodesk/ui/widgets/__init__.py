"""Small widgets and model bases shared by every page."""
