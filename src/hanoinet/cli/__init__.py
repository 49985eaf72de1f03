"""Typer commands: thin shells over the pure core that turn errors into exit codes."""
