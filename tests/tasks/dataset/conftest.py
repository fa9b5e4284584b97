"""Fixtures of the dataset tests: a small synthetic corpus written as logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.dataset.synthetic_logs import SyntheticCorpus, generate_logs, write_logs


@pytest.fixture(scope="session")
def corpus() -> SyntheticCorpus:
    """240 generated log lines with planted PII, duplicates and bad lines."""
    return generate_logs(240, seed=11)


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory, corpus: SyntheticCorpus) -> Path:
    """The corpus as two files, the second gzipped with a corrupted member."""
    folder = tmp_path_factory.mktemp("logs")
    write_logs(corpus, folder, files=2)
    return folder
