"""The BEIR loader on a tiny fixture written here (no test reads the shared benchmark files)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tasks.ingest import beir
from tasks.serving.gate import ndcg_at, read_retrieval_set


def write_beir(folder: Path, gz: bool = True) -> Path:
    """A two-document, two-query BEIR folder; query q2 is judged only with grade 0."""
    folder.mkdir(parents=True)
    corpus = [
        {"_id": "D1", "title": "Statins and breast cancer", "text": "Statin users had lower mortality.", "metadata": {}},
        {"_id": "D/2", "title": "", "text": "Green tea and the heart."},
    ]
    lines = "".join(json.dumps(row) + "\n" for row in corpus)
    if gz:
        with gzip.open(folder / "corpus.jsonl.gz", "wt", encoding="utf-8") as handle:
            handle.write(lines)
    else:
        (folder / "corpus.jsonl").write_text(lines, encoding="utf-8")
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "do statins help cancer"}) + "\n" + json.dumps({"_id": "q2", "text": "tea"}) + "\n",
        encoding="utf-8",
    )
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tD1\t2\nq1\tD/2\t1\nq2\tD/2\t0\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("gz", [True, False])
def test_corpus_is_written_as_txt_with_the_title_first(tmp_path, gz):
    folder = write_beir(tmp_path / "beir", gz=gz)
    names = beir.write_documents(beir.read_corpus(beir.corpus_path(folder)), tmp_path / "docs")
    assert names == {"D1.txt": "D1", "D_2.txt": "D/2"}
    assert (tmp_path / "docs" / "D1.txt").read_text(encoding="utf-8").splitlines()[:3] == [
        "Statins and breast cancer", "", "Statin users had lower mortality."
    ]
    assert (tmp_path / "docs" / "D_2.txt").read_text(encoding="utf-8") == "Green tea and the heart.\n"


def test_cases_keep_grades_and_drop_queries_without_a_relevant_document(tmp_path):
    cases = beir.read_beir_cases(write_beir(tmp_path / "beir"))
    assert [case.id for case in cases] == ["q1"]
    assert cases[0].grades == {"D1.txt": 2, "D_2.txt": 1}
    assert cases[0].relevant == ["D1.txt", "D_2.txt"]


def test_gate_reads_a_beir_folder_as_its_retrieval_set(tmp_path):
    cases = read_retrieval_set(write_beir(tmp_path / "beir"))
    assert [(case.id, case.text) for case in cases] == [("q1", "do statins help cancer")]


def test_malformed_qrels_line_names_file_and_line(tmp_path):
    folder = write_beir(tmp_path / "beir")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tD1\n", encoding="utf-8")
    with pytest.raises(beir.BeirFormatError, match=r"test.tsv:2"):
        beir.read_beir_cases(folder)


def test_judged_query_missing_from_queries_is_an_error(tmp_path):
    folder = write_beir(tmp_path / "beir")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq9\tD1\t1\n", encoding="utf-8")
    with pytest.raises(beir.BeirFormatError, match="q9"):
        beir.read_beir_cases(folder)


def test_ndcg_uses_linear_graded_gains():
    grades = {"a": 2, "b": 1}
    # ideal: 2/log2(2) + 1/log2(3); ranking b, x, a: 1/log2(2) + 2/log2(4)
    ideal = 2 + 1 / 1.5849625007211562
    assert ndcg_at(["b", "x", "a"], grades, 10) == pytest.approx((1 + 2 / 2) / ideal)
    assert ndcg_at(["a", "b"], grades, 10) == pytest.approx(1.0)
    assert ndcg_at(["a", "b"], {"a", "b"}, 10) == pytest.approx(1.0)
    assert ndcg_at(["x"], {"a": 0}, 10) == 0.0
