"""Read a BEIR-format retrieval folder and lay its corpus out as documents the ingest reads.

A BEIR folder holds ``corpus.jsonl`` (or ``corpus.jsonl.gz``) with ``{"_id", "title", "text"}``
lines, ``queries.jsonl`` with ``{"_id", "text"}`` lines and ``qrels/<split>.tsv`` with
``query-id<TAB>corpus-id<TAB>score`` lines (a header line, graded relevance; 0 means judged not
relevant). Each corpus document becomes ``<_id>.txt`` (title on the first line, a blank line, the
text), so the ingest's document id maps back to the BEIR id by dropping the suffix.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from schemas.gate import RetrievalCase
from schemas.search import BeirDocument, BeirQuery

DOC_SUFFIX = ".txt"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class BeirFormatError(ValueError):
    """A BEIR file that cannot be read: names the file and line."""


def is_beir_folder(path: Path) -> bool:
    """True when ``path`` is a folder with ``queries.jsonl`` and a ``qrels`` folder."""
    return path.is_dir() and (path / "queries.jsonl").is_file() and (path / "qrels").is_dir()


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def corpus_path(folder: Path) -> Path:
    """``corpus.jsonl`` or ``corpus.jsonl.gz`` in ``folder``.

    Raises:
        BeirFormatError: when neither exists.
    """
    for name in ("corpus.jsonl", "corpus.jsonl.gz"):
        if (folder / name).is_file():
            return folder / name
    raise BeirFormatError(f"{folder}: no corpus.jsonl or corpus.jsonl.gz")


def read_corpus(path: Path) -> Iterator[BeirDocument]:
    """The corpus documents in file order.

    Raises:
        BeirFormatError: naming the file and line of a malformed record.
    """
    for number, line in _jsonl_lines(path):
        try:
            yield BeirDocument.model_validate_json(line)
        except ValueError as error:
            raise BeirFormatError(f"{path}:{number}: not a corpus record ({error})") from error


def read_queries(path: Path) -> dict[str, BeirQuery]:
    """The queries by id.

    Raises:
        BeirFormatError: naming the file and line of a malformed record.
    """
    queries = {}
    for number, line in _jsonl_lines(path):
        try:
            query = BeirQuery.model_validate_json(line)
        except ValueError as error:
            raise BeirFormatError(f"{path}:{number}: not a query record ({error})") from error
        queries[query.id] = query
    return queries


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Graded judgments ``{query_id: {corpus_id: grade}}`` (a header line is skipped).

    Raises:
        BeirFormatError: naming the file and line of a line that is not ``query<TAB>doc<TAB>int``.
    """
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.rstrip("\r").split("\t")
        if not line.strip() or (number == 1 and fields[-1].strip().lower() == "score"):
            continue
        if len(fields) == 4:  # TREC style: query 0 doc grade
            fields = [fields[0], fields[2], fields[3]]
        try:
            query_id, doc_id, grade = fields[0].strip(), fields[1].strip(), int(fields[2])
        except (IndexError, ValueError) as error:
            raise BeirFormatError(f"{path}:{number}: expected query-id<TAB>corpus-id<TAB>score, got {line!r}") from error
        qrels.setdefault(query_id, {})[doc_id] = grade
    return qrels


def document_file_name(doc_id: str) -> str:
    """The file a corpus id is written to (characters unsafe in a path become '_')."""
    return _UNSAFE.sub("_", doc_id) + DOC_SUFFIX


def document_text(document: BeirDocument) -> str:
    """Title on the first line, a blank line, then the text (no title: the text alone)."""
    title = " ".join(document.title.split())
    return f"{title}\n\n{document.text.strip()}\n" if title else document.text.strip() + "\n"


def write_documents(documents: Iterator[BeirDocument], out: Path) -> dict[str, str]:
    """Write each document as ``out/<id>.txt``; returns file name -> corpus id.

    Raises:
        BeirFormatError: when two ids map to the same file name.
    """
    out.mkdir(parents=True, exist_ok=True)
    names: dict[str, str] = {}
    for document in documents:
        name = document_file_name(document.id)
        if names.setdefault(name, document.id) != document.id:
            raise BeirFormatError(f"corpus ids {names[name]!r} and {document.id!r} both map to file {name}")
        target = out / name
        text = document_text(document)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return names


def judged_cases(queries: dict[str, BeirQuery], qrels: dict[str, dict[str, int]], doc_ids: dict[str, str] | None = None) -> list[RetrievalCase]:
    """Retrieval cases of the queries with at least one relevant (grade > 0) judgment.

    Args:
        queries: Query records by id.
        qrels: Graded judgments by query id.
        doc_ids: Corpus id -> the ingested document id (default: ``document_file_name``).

    Raises:
        BeirFormatError: when a judged query is missing from the queries.
    """
    cases = []
    for query_id, judged in qrels.items():
        grades = {doc_ids.get(d, d) if doc_ids else document_file_name(d): g for d, g in judged.items() if g > 0}
        if not grades:
            continue
        if query_id not in queries:
            raise BeirFormatError(f"query {query_id!r} is judged in the qrels but missing from queries.jsonl")
        cases.append(RetrievalCase(id=query_id, text=queries[query_id].text, relevant=sorted(grades), grades=grades))
    return cases


def read_beir_cases(folder: Path, split: str = "test") -> list[RetrievalCase]:
    """The judged queries of ``folder``'s ``qrels/<split>.tsv`` as retrieval cases (ingested ids).

    Raises:
        BeirFormatError: when a file is missing or malformed.
    """
    qrels_file = folder / "qrels" / f"{split}.tsv"
    for needed in (folder / "queries.jsonl", qrels_file):
        if not needed.is_file():
            raise BeirFormatError(f"{folder}: missing {needed.relative_to(folder)}")
    return judged_cases(read_queries(folder / "queries.jsonl"), read_qrels(qrels_file))


def corpus_ids(names: Sequence[str]) -> list[str]:
    """Ingested document ids back to file-name stems (the corpus id when it was path-safe)."""
    return [Path(name).name.removesuffix(DOC_SUFFIX) for name in names]
