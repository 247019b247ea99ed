"""How people talk to devenv: the typer app, the image commands, rich output."""
