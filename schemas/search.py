"""Search requests and results, shared by the CLI, the flows and the evaluation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SearchMode = Literal["vector", "fts", "hybrid"]
DEFAULT_MODE: SearchMode = "hybrid"
"""The search default, chosen by measurement: hybrid beat BM25 and vector search on our labelled set
(nDCG@10 0.978 / 0.972 / 0.932) and on a held-out public set (0.712 / 0.677 / 0.657); docs/benchmarks.md."""


class SearchHit(BaseModel):
    """One retrieved chunk."""

    model_config = ConfigDict(frozen=True)

    doc_id: str = Field(description="Path relative to the ingested folder.")
    chunk_id: str
    score: float = Field(description="Higher is better: cosine similarity, BM25 score, or fused rank score.")
    text: str


class QueryLine(BaseModel):
    """One line of a batch query file."""

    model_config = ConfigDict(extra="ignore")

    id: Any
    text: str = Field(min_length=1)


class QueryResult(BaseModel):
    """One output line of a batch search."""

    id: Any
    results: list[SearchHit]


class BeirDocument(BaseModel):
    """One line of a BEIR ``corpus.jsonl``."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id", min_length=1)
    title: str = ""
    text: str = ""


class BeirQuery(BaseModel):
    """One line of a BEIR ``queries.jsonl``."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id", min_length=1)
    text: str = Field(min_length=1)
