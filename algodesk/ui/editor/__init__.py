"""The parameter editor: model, view, commands, export."""
