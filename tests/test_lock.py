"""The hash-pinned locks agree with pyproject.toml (read offline; `make lock` rewrites them).

``make run`` and ``make test`` install every dependency from ``requirements.lock`` /
``requirements-dev.lock`` with ``--require-hashes``. A dependency added to or changed in
pyproject.toml without ``make lock`` would otherwise be silently missing or stale there.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "beleidsassistent"
_PIN = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$"
)


def pins(lock: Path) -> dict[str, list[tuple[Version, str]]]:
    """Package -> [(version, environment marker)] of a uv-written requirements file."""
    found: dict[str, list[tuple[Version, str]]] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            name, version, marker = match.groups()
            found.setdefault(canonicalize_name(name), []).append((Version(version), marker or ""))
    return found


def hashes_everywhere(lock: Path) -> bool:
    """Every pinned requirement carries at least one --hash (pip --require-hashes needs it)."""
    text = lock.read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    return all("--hash=sha256:" in block for block in blocks if _PIN.match(block.split("\n")[0]))


def requirements(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    optional = project["optional-dependencies"]
    pending = list(extras)
    while pending:
        for requirement in map(Requirement, optional[pending.pop()]):
            if canonicalize_name(requirement.name) == PROJECT:
                pending.extend(requirement.extras)  # beleidsassistent[small-model]
            else:
                wanted.append(requirement)
    return wanted


def disagreements(lock: Path, extras: tuple[str, ...]) -> list[str]:
    locked = pins(lock)
    problems = []
    for requirement in requirements(extras):
        versions = locked.get(canonicalize_name(requirement.name))
        if not versions:
            problems.append(f"{requirement} is missing from {lock.name}")
        elif not any(requirement.specifier.contains(v, prereleases=True) for v, _m in versions):
            problems.append(
                f"{requirement} but {lock.name} pins {', '.join(str(v) for v, _m in versions)}"
            )
    return problems


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))]
)
def test_the_lock_pins_what_pyproject_asks_for(lock: str, extras: tuple[str, ...]) -> None:
    problems = disagreements(ROOT / lock, extras)
    assert problems == [], "pyproject.toml and the lock disagree: run `make lock`.\n" + "\n".join(
        problems
    )
    assert hashes_everywhere(ROOT / lock)


def test_the_runtime_lock_is_a_subset_of_the_dev_lock() -> None:
    """Both come from one resolution of the same pyproject; a package in both has one version
    (else `make run` and `make test` would test different programs)."""
    runtime, dev = pins(ROOT / "requirements.lock"), pins(ROOT / "requirements-dev.lock")
    assert set(runtime) <= set(dev)
    differing = {name for name in runtime if set(runtime[name]) != set(dev[name])}
    assert differing == set()


def test_the_check_sees_a_stale_lock(tmp_path: Path) -> None:
    """A lock that pins another version of a direct dependency, or lacks one, is reported."""
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    stale = tmp_path / "requirements.lock"
    stale.write_text(
        re.sub(r"^chromadb==\S+", "chromadb==0.0.1", text, flags=re.MULTILINE).replace(
            "\ntiktoken==", "\nnot-tiktoken=="
        ),
        encoding="utf-8",
    )
    problems = disagreements(stale, ())
    assert any(p.startswith("chromadb==") and "0.0.1" in p for p in problems)
    assert any(p.startswith("tiktoken==") and "missing" in p for p in problems)


def test_the_makefile_installs_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements.lock" in makefile
    assert "--require-hashes -r requirements-dev.lock" in makefile
    assert "--no-deps -e ." in makefile
