"""The import walk behind dvc.yaml's code deps, and every stage of dvc.yaml checked against it."""

from __future__ import annotations

from pathlib import Path

from tools.dvc_deps import check_stages, reachable_files

ROOT = Path(__file__).resolve().parents[2]


def test_the_walk_follows_function_level_relative_and_package_imports(tmp_path: Path) -> None:
    (tmp_path / "cli").mkdir()
    (tmp_path / "tasks" / "sub").mkdir(parents=True)
    (tmp_path / "cli" / "__init__.py").write_text("")
    (tmp_path / "cli" / "main.py").write_text("import os\n\ndef run():\n    from tasks.sub import leaf\n")
    (tmp_path / "tasks" / "__init__.py").write_text("")
    (tmp_path / "tasks" / "sub" / "leaf.py").write_text("from . import other\nfrom ..top import x\n")
    (tmp_path / "tasks" / "sub" / "other.py").write_text("")
    (tmp_path / "tasks" / "top.py").write_text("")
    (tmp_path / "tasks" / "unused.py").write_text("")
    assert reachable_files(tmp_path, "cli.main") == [
        "cli/__init__.py", "cli/main.py", "tasks/__init__.py", "tasks/sub/leaf.py", "tasks/sub/other.py", "tasks/top.py",
    ]


def test_every_stage_lists_every_project_file_its_command_can_import() -> None:
    report = check_stages(ROOT)
    assert report and all(stage.entries for stage in report), [(s.name, s.entries) for s in report]
    assert {stage.name: stage.missing for stage in report if stage.missing} == {}
