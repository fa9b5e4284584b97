"""Decontamination: no training or validation example may copy an evaluation item.

The evaluation items are the regression/golden sets (``<regression_root>/<name>/cases.jsonl``:
input messages and expected output; ``retrieval.jsonl``: queries) and the retrieval gate's
evaluation queries (``serving.gate.retrieval_set``, named in ``dataset.decontaminate``). An
example contaminates a set when its compared text (the dedupe text: role-tagged messages, system
prompts left out) or its user turns alone are an exact duplicate (same normalised text) or a near
duplicate (estimated Jaccard of MinHash signatures >= the threshold, the dedupe's own signatures)
of one of the set's items, or (semantic dedupe on) when its compared text's embedding, the pool row's,
has a cosine similarity at or above ``dedupe.semantic_threshold`` with an item's (a paraphrase). Such
an example is dropped with reason ``contaminates_<set>``.

The sets are read once per build into a ``ContaminationIndex`` (keys and signatures of a few
thousand items at most); each batch of examples is checked against it on the task runner.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from schemas.params import DatasetParams
from tasks.common.accounting import KEEP, Decision
from tasks.common.jsonl import read_objects
from tasks.common.models import DEFAULT_MODEL
from tasks.dataset.dedupe import exact_key, minhash_signatures
from tasks.dataset.similarity import embed_texts

_NAME = re.compile(r"[^a-z0-9_]+")
_CELLS = 8_000_000
"""Signature cells compared at a time (bytes of the temporary boolean array)."""


def user_text(messages: Iterable[tuple[str, str | None]]) -> str:
    """The user turns of a conversation, role-tagged as the dedupe text tags them."""
    return "\n".join(f"user: {content or ''}" for role, content in messages if role == "user")


def user_turn_keys(users: Sequence[str], num_perm: int, shingle_size: int) -> tuple[list[str], np.ndarray]:
    """Exact keys and MinHash signatures of user-turn texts (``user_text``): what is compared besides the whole text."""
    return [exact_key(t) for t in users], minhash_signatures(users, num_perm, shingle_size, workers=1)


def _role_text(messages: Iterable[tuple[str, str | None]], include_system: bool) -> str:
    return "\n".join(
        f"{role}: {content or ''}" for role, content in messages if include_system or role != "system"
    )


def set_name(name: str) -> str:
    """A set's name as a reason suffix: lower case, ``[a-z0-9_]`` only."""
    return _NAME.sub("_", name.lower()).strip("_") or "set"


@dataclass
class ContaminationIndex:
    """Exact keys and MinHash signatures of every evaluation item, by set."""

    threshold: float
    num_perm: int
    shingle_size: int
    names: list[str] = field(default_factory=list)
    """Set name of each item (row)."""
    keys: dict[str, str] = field(default_factory=dict)
    """exact key -> set name (the first set wins)."""
    signatures: np.ndarray | None = None
    semantic_threshold: float | None = None
    """Cosine similarity that makes a semantic copy; None: semantic dedupe off, no embeddings."""
    model: str | None = None
    """The embedding model (the pool rows')."""
    embeddings: np.ndarray | None = None
    """Normalised embeddings of the items, one row each (semantic on)."""

    def __len__(self) -> int:
        return len(self.names)

    def add(self, name: str, texts: Sequence[str]) -> None:
        """Add a set's texts (already in the compared form)."""
        texts = [t for t in texts if t.strip()]
        if not texts:
            return
        for text in texts:
            self.keys.setdefault(exact_key(text), name)
        rows = minhash_signatures(texts, self.num_perm, self.shingle_size, workers=1)
        self.signatures = rows if self.signatures is None else np.concatenate([self.signatures, rows])
        if self.semantic_threshold is not None:
            vectors = embed_texts(texts, self.model or DEFAULT_MODEL)
            self.embeddings = vectors if self.embeddings is None else np.concatenate([self.embeddings, vectors])
        self.names.extend([name] * len(texts))

    def match_semantic(self, embeddings: np.ndarray | None) -> list[str | None]:
        """The set whose item is most similar to each text by embedding, when at or above the threshold."""
        if embeddings is None or self.embeddings is None or self.semantic_threshold is None:
            return [None] * (0 if embeddings is None else len(embeddings))
        found: list[str | None] = []
        for start in range(0, len(embeddings), 1024):
            scores = embeddings[start : start + 1024] @ self.embeddings.T
            best = scores.argmax(axis=1)
            found += [self.names[c] if scores[r, c] >= self.semantic_threshold else None for r, c in enumerate(best.tolist())]
        return found

    def match(self, keys: Sequence[str], signatures: np.ndarray) -> list[str | None]:
        """The set each text copies (exactly or near), or None; texts given by exact key and signature."""
        found: list[str | None] = [self.keys.get(key) for key in keys]
        if self.signatures is None or not len(keys):
            return found
        step = max(1, _CELLS // (len(self) * self.num_perm))  # bounded temporaries
        for start in range(0, len(keys), step):
            block = signatures[start : start + step]
            similarity = (block[:, None, :] == self.signatures[None, :, :]).mean(axis=2)
            best = similarity.argmax(axis=1)
            near = similarity[np.arange(len(block)), best] >= self.threshold
            for offset in np.flatnonzero(near).tolist():
                if found[start + offset] is None:
                    found[start + offset] = self.names[int(best[offset])]
        return found

    def decide_all(
        self, keys: Sequence[str], signatures: np.ndarray, user_keys: Sequence[str], user_signatures: np.ndarray,
        embeddings: np.ndarray | None = None,
    ) -> list[Decision]:
        """Per example: keep, or ``contaminates_<set>`` when its text or its user turns copy an item, or its text means one.

        Args:
            keys: The redacted examples' dedupe texts' exact keys.
            signatures: Their dedupe texts' MinHash signatures.
            user_keys: Their user turns' exact keys (``user_turn_keys``; a pool row keeps them).
            user_signatures: Their user turns' MinHash signatures.
            embeddings: Their dedupe texts' embeddings (semantic on): a cosine similarity to an
                item at or above ``semantic_threshold`` is a copy too.
        """
        if not len(self) or not len(keys):
            return [KEEP] * len(keys)
        full = self.match(keys, signatures)
        user = self.match(user_keys, user_signatures)
        meaning = self.match_semantic(embeddings) if embeddings is not None else [None] * len(keys)
        return [
            (False, f"contaminates_{f or u or s}") if (f or u or s) else KEEP
            for f, u, s in zip(full, user, meaning, strict=True)
        ]


def regression_texts(folder: Path, include_system: bool) -> list[str]:
    """A regression set's compared texts: each case whole (input and expected output) and its user turns."""
    texts: list[str] = []
    cases = folder / "cases.jsonl"
    if cases.exists():
        for row in read_objects(cases):
            if row.error:
                continue
            messages = [(m.get("role", ""), m.get("content")) for m in row.value.get("messages", [])]
            messages.append(("assistant", row.value.get("expected_output")))
            texts += [_role_text(messages, include_system), user_text(messages)]
    return texts + query_texts(folder / "retrieval.jsonl")


def query_texts(path: Path) -> list[str]:
    """A retrieval set's queries, as user turns."""
    if not path.exists():
        return []
    return [user_text([("user", row.value.get("text"))]) for row in read_objects(path) if not row.error]


def load_index(params: DatasetParams) -> ContaminationIndex:
    """The build's contamination index from ``params.decontaminate`` (empty when disabled or absent)."""
    p = params.decontaminate
    semantic = "semantic" in params.dedupe.methods
    index = ContaminationIndex(
        p.threshold, params.dedupe.num_perm, params.dedupe.shingle_size,
        semantic_threshold=params.dedupe.semantic_threshold if semantic else None,
        model=params.dedupe.embedding_model,
    )
    if not p.enabled:
        return index
    root = Path(p.regression_root)
    if root.is_dir():
        for folder in sorted(q for q in root.iterdir() if q.is_dir()):
            index.add(set_name(folder.name), regression_texts(folder, params.dedupe.include_system))
    for path in map(Path, p.retrieval_sets):
        index.add(set_name(path.stem), query_texts(path))
    return index


def describe(index: ContaminationIndex) -> dict[str, int]:
    """Items per set (for the report)."""
    counts: dict[str, int] = {}
    for name in index.names:
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


