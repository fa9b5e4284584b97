"""Which project files a DVC stage's command can import, and whether ``dvc.yaml`` lists them as deps.

A static walk over the AST of the project's own packages (``cli flows tasks schemas tools``): every
``import`` and ``from ... import`` anywhere in a module (inside functions too, and under
``TYPE_CHECKING``: over-approximating costs a rerun, missing one costs a stale output), relative imports
resolved against the importing module, and the ``__init__.py`` of every package on the way, which Python
runs before the module. Third-party imports are not followed.

The entry point of a stage is the module its ``cmd`` runs: ``python -m MODULE`` or a console script of
``pyproject.toml`` (``tributary`` runs ``cli.app``, which registers every command group).

    python -m tools.dvc_deps            # per stage: entry points, deps missing, deps nothing imports
    python -m tools.dvc_deps --check    # exit 1 when a stage misses a dep
    python -m tools.dvc_deps --write    # rewrite each stage's code deps in dvc.yaml (other deps kept)
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml

PACKAGES = ("cli", "flows", "tasks", "schemas", "tools")
"""The project's own top-level packages: imports of anything else are third-party and not followed."""

_PYTHON_M = re.compile(r"(?:^|[;&|(]|\s)python(?:3(?:\.\d+)?)?\s+-m\s+([A-Za-z_][\w.]*)")
_WORD = re.compile(r"[A-Za-z_][\w.-]*")


def module_file(root: Path, name: str) -> Path | None:
    """The file that defines the project module ``name`` (``a.b`` -> ``a/b.py`` or ``a/b/__init__.py``)."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_of(name: str, is_package: bool, level: int) -> str:
    """The package a relative import of ``level`` dots starts from, inside module ``name``."""
    parts = name.split(".") if is_package else name.split(".")[:-1]
    if level - 1 > len(parts):
        raise ImportError(f"relative import beyond the top-level package in {name}")
    return ".".join(parts[: len(parts) - (level - 1)])


def imported_names(source: str, name: str, is_package: bool) -> set[str]:
    """Every absolute module name an import statement of module ``name`` may load (not all are modules)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(name, is_package, node.level)
                base = f"{base}.{node.module}" if node.module and base else (node.module or base)
            else:
                base = node.module or ""
            if base:
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _with_parents(name: str) -> list[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``: importing a module first runs its packages."""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def reachable_files(root: Path, entry: str) -> list[str]:
    """Repo-relative paths of every project file that importing (or running) ``entry`` can load, sorted."""
    root = root.resolve()
    seen: set[str] = set()
    files: set[Path] = set()
    pending = _with_parents(entry)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = module_file(root, name)
        if path is None:
            continue
        files.add(path)
        for imported in imported_names(path.read_text(encoding="utf-8"), name, path.name == "__init__.py"):
            pending.extend(n for n in _with_parents(imported) if n not in seen)
    return sorted(p.relative_to(root).as_posix() for p in files)


def console_scripts(root: Path) -> dict[str, str]:
    """``{script name: module}`` of ``pyproject.toml``'s ``[project.scripts]``."""
    document = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return {name: target.split(":")[0] for name, target in document.get("project", {}).get("scripts", {}).items()}


def entry_modules(cmd: str, scripts: dict[str, str]) -> list[str]:
    """The project modules a stage command runs: ``python -m MODULE`` and console scripts, in order."""
    found = [m for m in _PYTHON_M.findall(cmd) if m.split(".")[0] in PACKAGES]
    words = set(_WORD.findall(cmd))
    found += [module for script, module in scripts.items() if script in words]
    return list(dict.fromkeys(found))


def covered(path: str, deps: list[str]) -> bool:
    """True when a dep is ``path`` itself or a folder that contains it."""
    return any(path == dep.rstrip("/") or path.startswith(dep.rstrip("/") + "/") for dep in deps)


def is_code(dep: str) -> bool:
    """True for a dep inside the project's packages (what this tool manages)."""
    return dep.split("/")[0] in PACKAGES


@dataclass(frozen=True)
class StageDeps:
    """One stage: what its command runs, what that reaches, and how its deps compare."""

    name: str
    entries: list[str]
    reached: list[str]
    missing: list[str]
    unreached: list[str]


def check_stages(root: Path) -> list[StageDeps]:
    """Compare every stage of ``root/dvc.yaml`` with the files its entry points reach."""
    document = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
    scripts = console_scripts(root)
    report = []
    for name, stage in document.get("stages", {}).items():
        cmds = stage["cmd"] if isinstance(stage["cmd"], list) else [stage["cmd"]]
        entries = [m for cmd in cmds for m in entry_modules(cmd, scripts)]
        reached = sorted({f for entry in entries for f in reachable_files(root, entry)})
        deps = [str(d) for d in stage.get("deps", [])]
        report.append(StageDeps(
            name=name,
            entries=entries,
            reached=reached,
            missing=[f for f in reached if not covered(f, deps)],
            unreached=[d for d in deps if is_code(d) and not any(covered(f, [d]) for f in reached)],
        ))
    return report


def rewrite_deps(text: str, stage: str, code: list[str]) -> str:
    """``dvc.yaml``'s text with ``stage``'s code deps replaced by ``code`` (other deps and comments kept).

    Expects the layout ``dvc.yaml`` uses: stages indented 2 spaces, ``deps:`` 4, items ``    - ``.
    """
    lines = text.splitlines(keepends=True)
    try:
        start = lines.index(f"  {stage}:\n")
        deps_at = next(i for i in range(start + 1, len(lines))
                       if lines[i] == "    deps:\n" or re.match(r"  \S", lines[i]))
    except (ValueError, StopIteration):
        raise ValueError(f"stage {stage!r} has no deps list in the expected layout") from None
    if lines[deps_at] != "    deps:\n":
        raise ValueError(f"stage {stage!r} has no deps list in the expected layout")
    end = deps_at + 1
    while end < len(lines) and lines[end].startswith("    - "):
        end += 1
    kept = [line for line in lines[deps_at + 1:end] if not is_code(line[len("    - "):].strip())]
    return "".join([*lines[: deps_at + 1], *kept, *(f"    - {path}\n" for path in code), *lines[end:]])


def main(argv: list[str] | None = None) -> int:
    """Print (``--check``: and fail on) missing deps per stage; ``--write`` fixes ``dvc.yaml``."""
    parser = argparse.ArgumentParser(prog="python -m tools.dvc_deps", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--check", action="store_true", help="exit 1 when a stage misses a code dep")
    parser.add_argument("--write", action="store_true", help="rewrite each stage's code deps in dvc.yaml")
    args = parser.parse_args(argv)
    report = check_stages(args.root)
    if args.write:
        path = args.root / "dvc.yaml"
        text = path.read_text(encoding="utf-8")
        for stage in report:
            text = rewrite_deps(text, stage.name, stage.reached)
        path.write_text(text, encoding="utf-8")
        report = check_stages(args.root)
    for stage in report:
        print(f"{stage.name}: runs {', '.join(stage.entries) or '(no project module)'}; "
              f"reaches {len(stage.reached)} files")
        for path in stage.missing:
            print(f"  missing dep: {path}")
        for path in stage.unreached:
            print(f"  listed, not imported: {path}")
    return 1 if args.check and any(s.missing for s in report) else 0


if __name__ == "__main__":
    sys.exit(main())
