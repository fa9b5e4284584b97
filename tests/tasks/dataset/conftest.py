"""Fixtures of the dataset tests: the shared synthetic corpus (tests/conftest.py) written as logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.synthetic_logs import SyntheticCorpus, write_logs


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory, corpus: SyntheticCorpus) -> Path:
    """The corpus as two files, the second gzipped with a corrupted member."""
    folder = tmp_path_factory.mktemp("logs")
    write_logs(corpus, folder, files=2)
    return folder
