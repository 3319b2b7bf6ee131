"""``python -m dmsmig``: the operator CLI."""

from dmsmig.cli import app

app()
