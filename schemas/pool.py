"""The example pool's row: one processed log line (parquet schema), and what a build reports of it.

A row is keyed by the sha256 of the raw line and the processing fingerprints it was made under
(``validate_fp``: schema version, validation settings and the salts of the hashes a row stores;
``redact_fp``: redaction settings, presidio and spaCy versions and the MinHash settings, set only
on rows that were redacted). A row holds the line's outcome: ``malformed`` or ``schema`` (the
reject record), ``invalid`` (validation's reject record) or ``ok`` (the redacted example, its exact
key and MinHash signature), plus the fields selection reads, so a dataset is drawn from rows
without re-reading or re-redacting the line. Lineage (``source``, ``line``) is the first
occurrence's; a build re-stamps each occurrence with its own.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

POOL_SCHEMA_VERSION = 1
"""Bump when a row's meaning changes: every row is then re-processed (it is part of ``validate_fp``)."""

Outcome = Literal["malformed", "schema", "invalid", "ok"]

POOL_SCHEMA = pa.schema(
    [
        ("line_hash", pa.binary(32)),
        ("validate_fp", pa.string()),
        ("redact_fp", pa.string()),
        ("outcome", pa.string()),
        ("reject", pa.string()),
        ("example", pa.string()),
        ("example_id", pa.string()),
        ("request_id", pa.string()),
        ("user_hash", pa.string()),
        ("model", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("quality_score", pa.float64()),
        ("user_feedback", pa.string()),
        ("category", pa.string()),
        ("language", pa.string()),
        ("prompt_template_id", pa.string()),
        ("prompt_template_version", pa.string()),
        ("system_prompt_hash", pa.string()),
        ("token_count", pa.int64()),
        ("exact_key", pa.string()),
        ("signature", pa.list_(pa.uint32())),
        ("shingles", pa.list_(pa.uint32())),
        ("user_key", pa.string()),
        ("user_signature", pa.list_(pa.uint32())),
        ("embed_fp", pa.string()),
        ("embedding", pa.list_(pa.float32())),
        ("source", pa.string()),
        ("line", pa.int64()),
    ]
)
"""Columns of every pool part file. ``reject``/``example`` are the records' JSON; ``signature`` the MinHash row;
``shingles`` the dedupe text's distinct shingle hashes, ascending (what containment compares; made under the
same ``redact_fp`` settings as ``signature``; null in parts written before the column: computed from ``example``);
``user_key`` / ``user_signature`` the exact key and MinHash row of the user turns alone (what decontamination
compares besides the whole text; null in parts written before them: computed from ``example``);
``embedding`` the normalised embedding of the dedupe text under ``embed_fp`` (null when semantic dedupe was off:
a build with it on embeds such rows and writes them again)."""


class PoolReport(BaseModel):
    """What one build took from the pool and what it processed anew."""

    model_config = ConfigDict(extra="forbid")

    uri: str
    reused: int = Field(0, description="Log lines served from pool rows (nothing re-parsed, re-validated or re-redacted).")
    processed: int = Field(0, description="Log lines processed anew (parsed, validated and, when valid, redacted).")
    redacted: int = Field(0, description="Of those, lines whose messages went through redaction.")
    processed_ahead: int = Field(0, description="Of the processed lines, those processed in a process of their own while "
                                 "the reused ones were served (``runner.overlap_from``).")
    embedded: int = Field(0, description="Rows whose dedupe text was embedded anew (new rows, or rows whose embedding fingerprint changed).")
    forgotten: int = Field(0, description="Lines of forgotten users: never processed nor stored.")
    written: int = Field(0, description="New rows this build added to the pool.")
    rows: int = Field(0, description="Rows in the pool under the current fingerprints after the build.")
