"""The ``tributary`` command line.

A command that runs a flow without ``PREFECT_API_URL`` starts a temporary Prefect server. Prefect waits
20 s for it by default; on a loaded 2-core machine its start was measured past that (three runs failed
with the flow never started, see docs/benchmarks.md "Session 5: ingest re-runs"), so the CLI allows 120 s
unless the user set the variable. Set before any command module imports Prefect, which reads it then.
"""

import os

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
