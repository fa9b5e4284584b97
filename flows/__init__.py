"""Prefect flows and the ``tributary`` CLI: wiring only, no transforms."""

import os

# Offline by default: Prefect's server telemetry call fails without internet and logs a traceback.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
