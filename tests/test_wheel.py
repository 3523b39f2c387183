"""The wheel works outside the checkout: built from this tree, installed into a new virtual
environment in a temporary folder, it ingests a document and answers a question there.

The wheel's own files are all this environment gets of the project (its dependencies come from
the test run's environment through a ``.pth`` line, which keeps the test at seconds instead of a
full install of ~240 packages; ``make run`` from a fresh clone does that). The working directory
and ``sys.path`` hold nothing of the checkout, so a prompt, catalogue or data file missing from
the wheel fails here as it would for a user who ran ``pip install beleidsassistent``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # A copy, so the build's egg-info and build/ folders never land in the checkout.
    source = out / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv*",
            "data",
            "test-artifacts",
            "*.egg-info",
            "build",
            "runs",
            "__pycache__",
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("beleidsassistent-*.whl")
    return built


def test_the_wheel_carries_prompts_catalogues_and_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    prompts = {p.name for p in (ROOT / "prompts").glob("*.txt")}
    assert {f"assistant/prompts/{name}" for name in prompts} <= names
    for lang in ("nl", "en"):
        assert f"assistant/locale/{lang}/LC_MESSAGES/beleidsassistent.mo" in names
    decisions = {p.name for p in (ROOT / "assistant" / "decisions").glob("*.json")}
    assert {f"assistant/decisions/{name}" for name in decisions} <= names
    assert {"evals/reference.jsonl", "evals/thresholds.toml"} <= names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert (
        "beleidsassistent = assistant.cli:main"
        in zipfile.ZipFile(wheel).read(entry_points).decode()
    )
    # Nothing of the checkout that is not the product: tests, corpus, data.
    assert not any(n.startswith(("tests/", "corpus/", "data/")) for n in names)


def test_the_installed_wheel_answers_outside_the_checkout(
    wheel: Path, tmp_path: Path, model_cache: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=300,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The dependencies: this test run's site-packages, after the wheel's own.
    (Path(site) / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "elsewhere"
    (work / "docs").mkdir(parents=True)
    rob = "2025-07-01-kabinetsreactie-rob-advies-naar-een-uitvoerende-macht.txt"
    shutil.copy(CORPUS / rob, work / "docs" / rob)
    env = {
        "PATH": f"{env_dir / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ASSISTANT_INTERFACE_LANGUAGE": "nl",
        "ASSISTANT_LLM_BACKEND": "embedded",
        "ASSISTANT_LLM_EMBEDDED_MODEL": "qwen2.5-coder-0.5b",
        "ASSISTANT_LLM_TEMPERATURE": "0",
        "ASSISTANT_MODEL_CACHE_DIR": str(model_cache),
    }
    for key in ("TESSDATA_PREFIX",):
        if key in os.environ:
            env[key] = os.environ[key]
    command = str(env_dir / "bin" / "beleidsassistent")

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [command, *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    where = subprocess.run(
        [str(python), "-c", "import assistant, ingest; print(assistant.__file__, ingest.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(ROOT) not in where and str(env_dir) in where

    help_text = run("--help")
    assert help_text.returncode == 0 and "opdrachten:" in help_text.stdout
    ingested = run("ingest", "docs", "--quiet")
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    asked = run(
        "ask",
        "--json",
        "Welke drie hardnekkige fouten constateert de ROB in de publieke dienstverlening?",
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    # The prompts came from the wheel: the model was asked (tokens counted) with the very
    # prompt version the checkout has.
    assert answer["prompt_tokens"] > 100 and answer["backend"] == "embedded"
    from assistant.prompting import prompt_version

    assert answer["prompt_version"] == prompt_version()
    source = " ".join((work / "docs" / rob).read_text(encoding="utf-8").split())
    for quote in answer["quotes"]:  # verified against the index; its words stand in the file
        assert " ".join(quote["text"].split()[:5]) in source
    config = run("config", "--json")
    assert json.loads(config.stdout)["settings_hash"] == answer["settings_hash"]
