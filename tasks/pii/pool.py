"""Large inputs over worker processes: forked (the analyzer inherited) from a single-threaded caller, else spawned."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from presidio_analyzer import RecognizerResult

from schemas.params import RedactParams
from tasks.pii.analyzer import load_analyzer
from tasks.pii.batched import analyze_one_by_one, analyze_unique

PARALLEL_MIN_TEXTS = 20_000
"""Below this many distinct texts one process is faster: each spawned worker re-imports presidio, which
imports torch and transformers (about 1 GB and 10-15 s here)."""
FORK_MIN_TEXTS = 400
"""The same threshold where workers are forked (a single-threaded caller): they inherit the loaded
analyzer, so starting one costs milliseconds, not a re-import."""


def _worker_chunk(args: tuple[list[str], RedactParams]) -> list[list[tuple[str, int, int, float]]]:
    texts, params = args
    findings = analyze_unique(texts, params)
    return [[(r.entity_type, r.start, r.end, r.score) for r in findings[t]] for t in texts]


def can_fork() -> bool:
    """Forking is safe here: the platform has it and this process runs no other Python thread."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def analyze_texts(texts: Sequence[str], params: RedactParams, batched: bool = True) -> dict[str, list[RecognizerResult]]:
    """presidio findings for each distinct text.

    Args:
        texts: Texts to analyze (each distinct text is analyzed once).
        params: Entities, score threshold, allow-list, batch size, worker processes.
        batched: Run spaCy over the texts with ``nlp.pipe`` (True) or one ``analyze`` call a text.

    Returns:
        ``text -> findings`` for every distinct text.
    """
    unique = list(dict.fromkeys(t for t in texts if t))
    if not batched:
        return analyze_one_by_one(unique, params)
    forking = can_fork()
    minimum = FORK_MIN_TEXTS if forking else PARALLEL_MIN_TEXTS
    workers = params.workers or ((os.cpu_count() or 1) if len(unique) >= minimum else 1)
    if workers <= 1 or len(unique) < 2 * workers:
        return analyze_unique(unique, params)
    step = -(-len(unique) // (workers * 4))
    chunks = [(unique[i : i + step], params) for i in range(0, len(unique), step)]
    findings: dict[str, list[RecognizerResult]] = {}
    if forking:
        load_analyzer(params.skip_parser)  # built once here; forked workers inherit it
    # Fork only a single-threaded process (a forked thread's locks stay held); else spawn (Prefect runs threads).
    context = multiprocessing.get_context("fork" if forking else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for (chunk, _), results in zip(chunks, pool.map(_worker_chunk, chunks), strict=True):
            for text, found in zip(chunk, results, strict=True):
                findings[text] = [RecognizerResult(e, s, t, sc) for e, s, t, sc in found]
    return findings
