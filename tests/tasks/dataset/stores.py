"""Build an ``ExampleStore`` from examples, as the flow's batches would (exact keys and signatures)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from schemas.dataset import ChatExample
from schemas.params import DatasetParams
from tasks.dataset.collect import ExampleRecord, ExampleStore
from tasks.dataset.dedupe import exact_key, minhash_signatures
from tasks.dataset.prefect_tasks import dedupe_text


def store_of(examples: Sequence[ChatExample], folder: Path, params: DatasetParams) -> ExampleStore:
    """A store (spool in ``folder``) holding ``examples`` with their keys and signatures."""
    p = params.dedupe
    texts = [dedupe_text(e, p.include_system) for e in examples]
    store = ExampleStore(folder / ".spool", p.num_perm)
    store.add([ExampleRecord.of(e) for e in examples], [exact_key(t) for t in texts], minhash_signatures(texts, p.num_perm, p.shingle_size))
    return store
