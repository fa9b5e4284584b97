"""Cold ``tributary ingest`` of NFCorpus against the raw-model floor, timed in the same run.

Writes the first ``--docs`` NFCorpus documents (title, blank line, abstract) as one ``.txt``
each, then times as separate processes, whole process each (imports and model load included):

1. the floor, ``bench/ingest_floor.py`` (fewest <= 254-token pieces, each encoded once);
2. a cold ``tributary ingest --json`` into a fresh LanceDB, with ``ingest.embed.backend``
   set to ``--backend`` in a params.yaml copy;
3. the floor again (unless ``--no-floor-after``), so that a load change on a shared machine
   shows as the spread of the two floors (``ratio_range``) instead of hiding in one ratio;

and reports ratio = ingest / mean floor, the ingest's stage seconds, and a vector-only nDCG@10 on the
NFCorpus dev and test queries whose judged documents (graded) lie in the slice: every chunk
vector is scored against the query (exact, brute force), a document ranks by its best chunk.
``--set ingest.chunk.packing=greedy`` (repeatable) sets any params key for the ingest, e.g. to
time the chunker before session 4 (``packing=greedy``, ``whole_if_fits=false``,
``breakpoint_vectors=model``) against the current one on the same machine.

With ``--reruns`` it then times, the same way, an unchanged re-run and a re-run after editing
``--changed`` (default 1%) of the files (``tools.bench_corpus.mutate_corpus``), each as a share of
the cold run (targets <= 2% and <= 5%). ``--reruns-only COLD_SECONDS --work DIR [--seed N]`` times
only the re-runs against the index an earlier run left in DIR, so code changes can be measured
without a new cold ingest.

    python bench/ingest_corpus.py [--docs 500] [--backend torch] [--floor-backend torch] [--set KEY=VALUE] [--reruns] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
NFCORPUS = REPO.parent / "shared" / "benchmarks" / "nfcorpus"


def write_slice(target: Path, limit: int) -> int:
    """Write the first ``limit`` corpus documents as ``<id>.txt``; returns how many were written."""
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    with gzip.open(NFCORPUS / "corpus.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            if written >= limit:
                break
            record = json.loads(line)
            (target / f"{record['_id']}.txt").write_text(f"{record['title']}\n\n{record['text']}\n", encoding="utf-8")
            written += 1
    return written


def timed_process(command: list[str], cwd: Path) -> tuple[float, str]:
    """Run a command to completion; returns (wall seconds, stdout). Fails loudly on a non-zero exit."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{command} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def graded_ndcg(ranked: list[str], gains: dict[str, int], k: int) -> float:
    """nDCG@k with graded gains (BEIR's formula: gain / log2(rank + 1))."""
    dcg = sum(gains.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], start=1))
    ideal = sum(g / math.log2(rank + 1) for rank, g in enumerate(sorted(gains.values(), reverse=True)[:k], start=1))
    return dcg / ideal if ideal else 0.0


def vector_ndcg(db: Path, backend: str, docs: set[str], qrels: Path, k: int = 10) -> dict:
    """Vector-only nDCG@k over the queries with a judged document in ``docs``."""
    import lancedb

    from schemas.params import EmbedParams
    from tasks.ingest.embed import load_embedder

    table = lancedb.connect(str(db)).open_table("chunks").to_arrow()
    vectors = np.stack(table.column("vector").to_numpy(zero_copy_only=False)).astype(np.float32)
    owners = [doc.removesuffix(".txt") for doc in table.column("doc_id").to_pylist()]
    judged: dict[str, dict[str, int]] = defaultdict(dict)
    for line in qrels.read_text().splitlines()[1:]:
        query, doc, score = line.split("\t")
        if doc in docs and int(score) > 0:
            judged[query][doc] = int(score)
    queries = {q["_id"]: q["text"] for q in map(json.loads, (NFCORPUS / "queries.jsonl").read_text().splitlines())}
    ids = sorted(q for q in judged if q in queries)
    embedder = load_embedder(EmbedParams(backend=backend))
    scores = embedder.encode([queries[q] for q in ids]) @ vectors.T
    values = []
    for query, row in zip(ids, scores):
        ranked = list(dict.fromkeys(owners[i] for i in np.argsort(-row)[: k * 8]))
        values.append(graded_ndcg(ranked, judged[query], k))
    return {"queries": len(ids), f"ndcg@{k}": round(float(np.mean(values)), 4)}


def time_reruns(python: str, source: Path, db: Path, work: Path, cold_s: float, changed: float, seed: int = 1) -> dict:
    """Unchanged and ``changed``-edited re-runs of the ingest, whole process each, against the cold run.

    ``seed`` picks the edits: give each repeat on one folder its own, or the edits repeat themselves.
    """
    from tools.bench_corpus import mutate_corpus

    command = [python, "-m", "cli.app", "ingest", str(source), "--db", str(db), "--json"]
    runs = {}
    for name in ("unchanged", "changed"):
        edited = len(mutate_corpus(source, changed, seed=seed)) if name == "changed" else 0
        seconds, out = timed_process(command, work)
        summary = json.loads(out.strip().splitlines()[-1])
        runs[name] = {"seconds": round(seconds, 1), "share_of_cold": round(seconds / cold_s, 4), "edited_files": edited,
                      "load": os.getloadavg()[0],
                      **{key: summary[key] for key in ("unchanged", "added", "changed", "chunks_written", "chunks_deleted")},
                      "stage_seconds": {stage: t["seconds"] for stage, t in summary["timings"].items()}}
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--floor-backend", default="torch")
    parser.add_argument("--floor-batch-size", type=int, default=64, help="Texts per forward pass of the floor.")
    parser.add_argument("--qrels", default="dev,test", help="Comma-separated qrels splits for nDCG@10.")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="A params.yaml key for the ingest, dotted (ingest.chunk.packing=greedy); the value is YAML.")
    parser.add_argument("--work", type=Path, default=None, help="Reuse this folder (the slice is rewritten).")
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--no-floor-after", dest="floor_after", action="store_false",
                        help="Time the floor once (before the ingest) instead of before and after it.")
    parser.add_argument("--reruns", action="store_true", help="Also time an unchanged and a --changed re-run.")
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--reruns-only", type=float, default=None, metavar="COLD_SECONDS",
                        help="Only time the re-runs against the index already in --work, as shares of COLD_SECONDS "
                             "(a cold run's seconds measured earlier on the same folder); the slice is not rewritten.")
    parser.add_argument("--seed", type=int, default=1, help="Seed of the --changed edits (one per repeat on a folder).")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.reruns_only is not None:
        if args.work is None:
            raise SystemExit("--reruns-only needs --work, the folder of an earlier run")
        work = args.work
        result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_before": os.getloadavg(),
                  "cold_seconds": args.reruns_only,
                  "reruns": time_reruns(sys.executable, work / "docs", work / f"lancedb-{args.backend}", work,
                                        args.reruns_only, args.changed, args.seed),
                  "load_after": os.getloadavg()}
        print(json.dumps(result, indent=None if args.json else 2))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="tributary-nfcorpus-"))
    source, db = work / "docs", work / f"lancedb-{args.backend}"
    written = write_slice(source, args.docs)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params.setdefault("ingest", {}).setdefault("embed", {})["backend"] = args.backend
    for setting in args.set:
        key, _, value = setting.partition("=")
        *parents, leaf = key.split(".")
        node = params
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = yaml.safe_load(value)
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    python = sys.executable
    result: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_before": os.getloadavg(),
                    "documents": written, "backend": args.backend, "settings": args.set}
    floor_command = [python, str(REPO / "bench" / "ingest_floor.py"), str(source), "--backend", args.floor_backend,
                     "--batch-size", str(args.floor_batch_size)]

    def floor() -> dict:
        seconds, out = timed_process(floor_command, work)
        return {"seconds": round(seconds, 1), "load": os.getloadavg()[0], **json.loads(out)}

    floors = [] if args.skip_floor else [floor()]
    if db.exists():
        raise SystemExit(f"{db} exists: a cold ingest needs a fresh folder")
    ingest_s, ingest_out = timed_process(
        [python, "-m", "cli.app", "ingest", str(source), "--db", str(db), "--json"], work)
    summary = json.loads(ingest_out.strip().splitlines()[-1])
    result["ingest"] = {
        "seconds": round(ingest_s, 1), "load": os.getloadavg()[0], "chunks": summary["chunks_written"],
        "failed": len(summary["failed"]), "stage_seconds": {name: t["seconds"] for name, t in summary["timings"].items()},
    }
    if floors and args.floor_after:
        floors.append(floor())  # the floor again after the ingest: a load change between them shows as a spread
    if floors:
        mean = sum(f["seconds"] for f in floors) / len(floors)
        result["floor"] = {"backend": args.floor_backend, "batch_size": args.floor_batch_size, "seconds": round(mean, 1), "runs": floors}
        result["ratio"] = round(ingest_s / mean, 3)
        result["ratio_range"] = [round(ingest_s / max(f["seconds"] for f in floors), 3),
                                 round(ingest_s / min(f["seconds"] for f in floors), 3)]
    result["quality"] = {split: vector_ndcg(db, args.backend, {p.stem for p in source.glob("*.txt")},
                                            NFCORPUS / "qrels" / f"{split}.tsv") for split in args.qrels.split(",")}
    if args.reruns:
        result["reruns"] = time_reruns(python, source, db, work, ingest_s, args.changed, args.seed)
    result["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
