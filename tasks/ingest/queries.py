"""Reading a file of search queries (``{"id", "text"}`` a line)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from schemas.search import QueryLine


def read_queries(path: Path) -> list[QueryLine]:
    """Every query of a JSONL file, blank lines skipped.

    Queries are user input, not data: a bad line stops the read with an error naming it.

    Raises:
        ValueError: ``<path>:<line>: ...`` for a line that is not a query.
    """
    lines = []
    with path.open(encoding="utf-8") as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                lines.append(QueryLine.model_validate_json(raw))
            except ValidationError as error:
                raise ValueError(f"{path}:{number}: not a query line {{\"id\", \"text\"}}: {error.errors()[0]['msg']}") from None
    return lines
