"""Prefect flows: they wire stage keys together and never hold arrays."""
