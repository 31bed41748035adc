"""The `fresh` command: the typer app, its commands and the demo project."""
