"""The layers point one way, and modules stay small: read from the source, not imported.

- Nothing under ``assistant/`` imports ``ingest/``, ``evals/`` or ``app``: the query side and the
  shared index live below the ingest pipeline, the evals and the UI.
- ``assistant/core/`` imports nothing else of this project; ``assistant/index/`` and
  ``assistant/llm/`` build only on ``assistant.core`` (and themselves); ``ingest/`` never imports
  the query side's answering, the evals or the UI.
- ``assistant.cli`` (the installed ``beleidsassistent`` command) and ``assistant.webui`` (the web
  UI, which adds and removes documents through ``ingest``) are the composition roots, the top of
  the layers: the only parts of ``assistant/`` allowed to import ``ingest`` (and the command
  ``evals``), and imported by nothing below them. They sit in ``assistant/`` because the wheel
  must carry them and the fixed top-level layout leaves no other installed package.
- No source module is longer than ``MAX_LINES`` lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("assistant", "ingest", "evals", "benchmarks", "app.py")
MAX_LINES = 500

#: The query side and what sits on it: below it are only assistant.llm, .index and .core.
QUERY_SIDE = (
    "assistant.answering",
    "assistant.components",
    "assistant.retrieval",
    "assistant.prompting",
    "assistant.citations",
    "assistant.grounding",
    "assistant.documents",
    "assistant.verification",
    "assistant.presentation",
    "assistant.provenance",
)
#: The top of the layers: may import anything, is imported by nothing but each other.
TOP = ("assistant.cli", "assistant.webui", "app")
#: Package prefix -> project module prefixes it must not import.
FORBIDDEN = {
    "assistant": ("ingest", "evals", "app", "benchmarks"),
    "assistant.core": ("assistant.index", "assistant.llm", *QUERY_SIDE),
    "assistant.index": ("assistant.llm", *QUERY_SIDE),
    "assistant.llm": ("assistant.index", *QUERY_SIDE),
    "ingest": ("evals", "app", "benchmarks", "assistant.answering", "assistant.components"),
}


def _python_files() -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (also inside functions and ``TYPE_CHECKING`` blocks)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # ``from assistant import answering`` imports a submodule too.
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _violations() -> list[str]:
    problems: list[str] = []
    for path in _python_files():
        module = _module_name(path)
        rules = [(p, banned) for p, banned in FORBIDDEN.items() if _within(module, p)]
        if any(_within(module, top) for top in TOP):
            rules = []
        else:
            rules.append(("*", TOP))
        for line, imported in _imports(path):
            for _prefix, banned in rules:
                hit = next((b for b in banned if _within(imported, b)), None)
                if hit is not None:
                    problems.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    return sorted(set(problems))


def test_layers_point_one_way() -> None:
    assert _violations() == []


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    """The walk finds imports inside functions and TYPE_CHECKING blocks (a check that could
    never fail would prove nothing)."""
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ingest.pipeline import ingest\n"
        "def f():\n    import evals.runner\n",
        encoding="utf-8",
    )
    assert [name for _line, name in _imports(source)] == [
        "typing",
        "typing.TYPE_CHECKING",
        "ingest.pipeline",
        "ingest.pipeline.ingest",
        "evals.runner",
    ]


def test_modules_stay_small() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _python_files()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
