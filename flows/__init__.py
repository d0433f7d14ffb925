"""Prefect flows that wire the stages together, their typed configs and the CLI."""
