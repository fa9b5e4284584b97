"""presidio imported with torch and transformers hidden redacts exactly as a plain import does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from schemas.params import RedactParams
from tasks.pii.redact import redact_strings
from tools.synthetic_logs import labelled_pii_texts

ROOT = Path(__file__).resolve().parents[3]
CHILD = """
import json, sys
from tasks.common.presidio_import import import_presidio
import_presidio()
from schemas.params import RedactParams
from tasks.pii.redact import redact_strings
texts = json.loads(sys.stdin.read())
redacted, counts = redact_strings(texts, RedactParams())
hidden = [name for name in ("torch", "transformers") if name in sys.modules]
import torch  # released: a later import loads it as usual
print(json.dumps({"redacted": redacted, "counts": dict(counts), "loaded_while_redacting": hidden,
                  "torch_after": torch.__name__}))
"""


def test_presidio_without_torch_redacts_the_same_and_releases_torch() -> None:
    texts = [item.text for item in labelled_pii_texts(120, seed=5)] + [
        "Call Maria Gonzalez on +44 20 7946 0958 or mail maria.g@example.org.",
        "my card is 4111 1111 1111 1111, I live at 221B Baker Street, London",
        "no personal data here at all",
    ]
    done = subprocess.run(
        [sys.executable, "-c", CHILD], input=json.dumps(texts), capture_output=True, text=True, check=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"},
    )
    child = json.loads(done.stdout.strip().splitlines()[-1])
    redacted, counts = redact_strings(texts, RedactParams())
    assert child["redacted"] == redacted and child["counts"] == dict(counts)
    assert sum(counts.values()) > 50  # the texts do hold personal data: the comparison is not of no-ops
    assert child["loaded_while_redacting"] == [] and child["torch_after"] == "torch"
