"""Pulumi entry point: load the stack config, build the migration, export its outputs."""

from dmsmig.program import run

run()
