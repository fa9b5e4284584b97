"""Retrieval gate records: the evaluation set's lines, metric summaries and the gate's decision."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetrievalCase(BaseModel):
    """One line of a retrieval set: a query and the documents that answer it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    text: str = Field(min_length=1)
    relevant: list[str] = Field(min_length=1)
    grades: dict[str, int] | None = Field(
        None, description="Graded relevance per document (BEIR qrels); empty: every relevant document has grade 1."
    )
    user_hash: str | None = Field(
        None, description="Salted hash of the user whose logged call the case came from (sets built from traffic), for forget."
    )


class MetricSummary(_Record):
    """A metric's mean over the queries with its 95% bootstrap confidence interval."""

    mean: float
    low: float
    high: float


class RetrievalEvaluation(_Record):
    """One corpus version evaluated on a retrieval set."""

    version: str
    k: int
    mode: str
    queries: int
    metrics: dict[str, MetricSummary]


class Regression(_Record):
    """A metric that fell below ``baseline x (1 - tolerance)``."""

    metric: str
    baseline: float
    current: float
    change: str


GateAction = Literal["promoted", "held_back", "warned", "kept"]


class GateResult(_Record):
    """The gate's verdict on a version, and what it did to the CURRENT pointer."""

    version: str
    baseline_version: str | None
    tolerance: float
    passed: bool
    action: GateAction
    current: str | None = Field(description="The CURRENT pointer after the gate.")
    regressions: list[Regression]
    evaluation: RetrievalEvaluation
    baseline: RetrievalEvaluation | None = None
    report: str | None = Field(None, description="Path of the markdown report.")


class RegressionCase(_Record):
    """One regression case rebuilt from a positively rated, deterministic, redacted logged call."""

    id: str = Field(description="sha256 (16 hex) of the normalised input and expected output.")
    category: str
    prompt_template_id: str
    messages: list[dict[str, str]] = Field(description="Input messages (system prompt first), redacted.")
    expected_output: str
    reference_doc_ids: list[str] = Field(default_factory=list)
    corpus_version: str | None = None
    source_request_id: str
    user_hash: str | None = Field(None, description="Salted hash of the source call's user (for forget); never the raw id.")


class RegressionManifest(_Record):
    """What a regression-set build wrote, from what, with which counts."""

    name: str
    created_at: str
    max_per_stratum: int
    counts: dict[str, int]
    strata: dict[str, int] = Field(description="Cases kept per 'category/template'.")
    files: dict[str, str] = Field(description="File name -> sha256.")
    edited_at: str | None = Field(
        None, description="When forget last removed cases from the set (counts then hold dropped_forgotten_user)."
    )
