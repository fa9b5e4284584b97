"""Prefect flows and the ``tributary`` CLI: wiring only, no transforms."""
