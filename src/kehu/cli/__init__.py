"""The ``kehu`` command line (Typer + Rich)."""
