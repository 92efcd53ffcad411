"""``python -m kehu`` runs the command line."""

from kehu.cli.main import app

app()
