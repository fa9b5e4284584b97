"""Records of the fine-tuning dataset stages: chat examples, rejects, reports and the manifest.

Every record that crosses a stage boundary of the dataset flow is defined here. None of them
carries unredacted text except ``ChatExample`` before the redaction stage; ``RejectedRecord``
never carries the offending input (pydantic errors are stored without their ``input``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.pool import PoolReport
from schemas.timing import StageTiming

SplitName = Literal["train", "val", "test"]
SPLITS: tuple[SplitName, ...] = ("train", "val", "test")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChatMessage(_Record):
    """One message of an OpenAI chat fine-tuning example."""

    role: Literal["system", "user", "assistant", "tool", "function", "developer"]
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    name: str | None = None
    tool_call_id: str | None = None

    def to_openai(self) -> dict[str, Any]:
        """The message as OpenAI's format writes it (absent fields left out)."""
        return self.model_dump(exclude_none=True)


class Lineage(_Record):
    """Where an example came from."""

    request_id: str
    source: str = Field(description="Log file, relative to the logs folder.")
    line: int = Field(ge=1, description="1-based line number in the (decompressed) file.")


class ChatExample(_Record):
    """A chat example with its lineage and the facts the later stages need.

    ``example_id`` is a content hash of the messages (and tools), so the same conversation gets
    the same id in every build.
    """

    example_id: str
    messages: tuple[ChatMessage, ...]
    tools: list[dict[str, Any]] | None = None
    category: str = "uncategorized"
    language: str | None = Field(None, description="ISO 639-1 code of the user and assistant turns, 'und' when unsure.")
    group_hash: str = Field(description="Salted hash of the group key (user_id, else request_id).")
    user_hash: str | None = Field(None, description="Salted hash of user_id; never the raw id.")
    timestamp: datetime
    quality_score: float | None = None
    lineage: Lineage
    warnings: tuple[str, ...] = ()
    token_count: int | None = None
    pii_counts: dict[str, int] = Field(default_factory=dict)

    def to_openai(self) -> dict[str, Any]:
        """The example as one line of an OpenAI chat fine-tuning file."""
        record: dict[str, Any] = {"messages": [m.to_openai() for m in self.messages]}
        if self.tools:
            record["tools"] = self.tools
        return record


class RejectedRecord(_Record):
    """A log line or example that did not make it, with why (no raw content)."""

    stage: Literal["read", "schema", "select", "validate", "decontaminate", "dedupe", "user_cap", "leakage"]
    kind: Literal["malformed", "rejected", "filtered", "duplicate"]
    reason: str
    source: str
    line: int
    request_id: str | None = None
    example_id: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list, description="pydantic errors() without input.")
    message: str | None = None

    @property
    def where(self) -> str:
        """``file:line`` of the record."""
        return f"{self.source}:{self.line}"

    @classmethod
    def of_example(cls, example: ChatExample, stage: str, kind: str, reason: str, **extra: Any) -> RejectedRecord:
        """The record for an example dropped by ``stage``, located by the example's lineage."""
        lineage = example.lineage
        return cls(stage=stage, kind=kind, reason=reason, source=lineage.source, line=lineage.line,  # type: ignore[arg-type]
                   request_id=lineage.request_id, **extra)


class ValidationIssue(_Record):
    """One finding of the chat-format validator."""

    code: str
    message: str


class ValidationResult(_Record):
    """The validator's verdict on one example: errors reject, warnings annotate."""

    line: int
    valid: bool
    errors: list[ValidationIssue] = Field(default_factory=list)
    warnings: list[ValidationIssue] = Field(default_factory=list)
    token_count: int | None = None


class StageReport(_Record):
    """``total / kept / dropped_<reason>`` of one stage."""

    stage: str
    total: int
    kept: int
    dropped: dict[str, int] = Field(default_factory=dict)

    def as_flat(self) -> dict[str, int]:
        """``{"total": .., "kept": .., "dropped_<reason>": ..}``."""
        flat = {"total": self.total, "kept": self.kept}
        flat.update({f"dropped_{reason}": n for reason, n in sorted(self.dropped.items())})
        return flat


class DedupeCluster(_Record):
    """A set of (near-)duplicate examples and the one that was kept."""

    cluster: int
    kind: Literal["exact", "near", "contained", "semantic"] = Field(
        description="How the members were found: exact (same normalised text), near (MinHash Jaccard), "
        "contained (an excerpt of a longer text), semantic (embedding cosine)."
    )
    members: list[str] = Field(description="Example ids (or line numbers as strings for the generic command).")
    kept: str


class SplitCell(_Record):
    """One category's counts and ratios against the target ratios."""

    category: str
    total: int
    counts: dict[str, int]
    ratios: dict[str, float]
    max_abs_deviation: float


class SplitReport(_Record):
    """Per-split and per-category counts against the target ratios."""

    targets: dict[str, float]
    counts: dict[str, int]
    categories: list[SplitCell]
    groups_straddling: int = Field(description="Groups found in more than one split (must be 0).")


class LeakageReport(_Record):
    """The check that no near-duplicate pair straddles two splits."""

    threshold: float
    near_duplicate_pairs: int = Field(description="Near-duplicate pairs among the written examples (any split).")
    cross_split_pairs: list[tuple[str, str]] = Field(default_factory=list)
    pairs_by_kind: dict[str, int] = Field(
        default_factory=dict, description="Each dedupe method's pairs (cluster kind) among the written examples."
    )

    @property
    def clean(self) -> bool:
        """True when no near-duplicate pair straddles two splits."""
        return not self.cross_split_pairs


class SourceFile(_Record):
    """A log file that went into a build."""

    path: str
    sha256: str
    lines: int


class BuildCounts(_Record):
    """The accounting of a build: ``input_lines == written + rejected + filtered + duplicates + malformed``."""

    input_lines: int
    written: int
    rejected: int
    filtered: int
    duplicates: int
    malformed: int

    @property
    def balanced(self) -> bool:
        """True when every input line is accounted for."""
        return self.input_lines == self.written + self.rejected + self.filtered + self.duplicates + self.malformed


class DatasetManifest(_Record):
    """What a build produced; deterministic (no timestamps) so DVC rebuilds are byte-identical."""

    name: str
    version: str = Field(description="sha256 over the split files' hashes: the dataset's content hash.")
    counts: BuildCounts
    reasons: dict[str, dict[str, int]] = Field(description="kind -> reason -> count.")
    splits: dict[str, int]
    stages: list[StageReport]
    split_report: SplitReport
    leakage: LeakageReport
    pii_counts: dict[str, int]
    duplicate_cluster_sizes: dict[str, int] = Field(description="cluster size -> number of clusters.")
    dedupe: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Dedupe method in effect -> examples it dropped ('dropped') and clusters it formed ('clusters').",
    )
    token_stats: dict[str, dict[str, float]]
    params: dict[str, Any]
    params_fingerprint: str
    sources: list[SourceFile]
    files: dict[str, str] = Field(description="Output file -> sha256.")
    user_hashes: list[str] = Field(description="Salted hashes of the users whose examples were written.")
    contamination: dict[str, int] = Field(
        default_factory=dict, description="Evaluation set -> items checked against (dropped: reasons contaminates_<set>)."
    )
    lineage_file: str = "lineage.jsonl"


class BuildSummary(BuildCounts):
    """What ``tributary build-dataset --json`` prints: the build's counts plus its name, version and splits."""

    name: str
    version: str
    splits: dict[str, int]
    train: int
    val: int
    test: int
    out_dir: str
    data_card: str
    pushed: bool = False
    timings: dict[str, StageTiming] = Field(default_factory=dict, description="Seconds and items per stage of this run.")
    pool: PoolReport | None = Field(None, description="What this build reused from the example pool and processed anew.")
    dedupe_pairs: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Per method whose pairs the pool stores (minhash, containment, semantic): compared_rows (examples compared anew "
        "with every pool example), reused_rows (pairs already stored), new_pairs.",
    )
