"""The one command, ``beleidsassistent``: every subcommand's help (Dutch, with examples, and
English), ``config`` with its sources and masked secrets, and the old ``python -m`` forms."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.cli import COMMANDS, main
from assistant.core import i18n
from assistant.core.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def language() -> Iterator[None]:
    yield
    i18n.activate(None)


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        main(list(argv))
    assert stopped.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_subcommand_has_help_with_examples_in_dutch_and_english(
    command: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    language: None,
) -> None:
    monkeypatch.setenv("ASSISTANT_INTERFACE_LANGUAGE", "nl")
    dutch = _help(capsys, command, "--help")
    assert dutch.startswith(f"gebruik: beleidsassistent {command}")
    assert (
        "voorbeelden:" in dutch and f"beleidsassistent {command}" in dutch.split("voorbeelden:")[1]
    )
    assert "toon deze hulptekst en stop" in dutch
    monkeypatch.setenv("ASSISTANT_INTERFACE_LANGUAGE", "en")
    english = _help(capsys, command, "--help")
    assert english.startswith(f"usage: beleidsassistent {command}") and "examples:" in english
    # The help text is translated, not only argparse's headings.
    strip = {"gebruik:", "usage:", "voorbeelden:", "examples:", "opties:", "options:"}
    assert {w for w in dutch.split() if w not in strip} != {
        w for w in english.split() if w not in strip
    }


def test_the_command_lists_its_subcommands(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, language: None
) -> None:
    monkeypatch.setenv("ASSISTANT_INTERFACE_LANGUAGE", "nl")
    text = _help(capsys, "--help")
    for command in COMMANDS:
        assert f"\n  {command} " in text
    assert "opdrachten:" in text
    with pytest.raises(SystemExit) as stopped:
        main(["vraag"])
    assert stopped.value.code == 2
    assert "ongeldige keuze: 'vraag'" in capsys.readouterr().err


def test_config_shows_each_value_its_source_and_masks_secrets(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    language: None,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "ASSISTANT_TOP_K=8\nASSISTANT_UI_USERS=anna:geheim123\nASSISTANT_INTERFACE_LANGUAGE=nl\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("ASSISTANT_CHUNK_SIZE", "400")
    monkeypatch.setenv("OLLAMA_HOST", "http://beheer:wachtwoord@gpu-server:11434")
    monkeypatch.setenv("ASSISTANT_INTERFACE_LANGUAGE", "en")  # the environment beats .env
    assert main(["config", "--json"]) == 0
    out = capsys.readouterr().out
    assert "geheim123" not in out and "wachtwoord" not in out
    report = json.loads(out)
    rows = {row["name"]: row for row in report["settings"]}
    assert (rows["top_k"]["value"], rows["top_k"]["source"]) == (8, "env_file")
    assert rows["top_k"]["variable"] == "ASSISTANT_TOP_K"
    assert (rows["chunk_size"]["value"], rows["chunk_size"]["source"]) == (400, "environment")
    assert (rows["ui_users"]["value"], rows["ui_users"]["source"]) == ("********", "env_file")
    assert rows["ollama_host"]["value"] == "http://********@gpu-server:11434"
    assert (rows["ollama_host"]["source"], rows["ollama_host"]["variable"]) == (
        "environment",
        "OLLAMA_HOST",
    )
    assert rows["interface_language"]["value"] == "en"
    assert rows["llm_backend"]["source"] == "default"
    assert report["settings_hash"] == load_settings().hash()
    assert report["env_file"] == str(tmp_path / ".env")

    assert main(["config", "--changed"]) == 0
    text = capsys.readouterr().out
    assert "top_k" in text and "[.env file (ASSISTANT_TOP_K)]" in text
    assert "llm_backend" not in text
    assert f"Settings hash: {load_settings().hash()}" in text


def test_config_reports_a_bad_value_with_the_fix(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    language: None,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("ASSISTANT_TOP_K=zes\n", encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_INTERFACE_LANGUAGE", "nl")
    assert main(["config"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fout: Ongeldige instellingen: top_k:")
    assert "beleidsassistent config" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "ingest", "--help"],
        ["-m", "assistant", "ask", "--help"],
        ["-m", "evals", "--help"],
        ["app.py", "--help"],
        ["-m", "assistant.cli", "--help"],
    ],
)
def test_the_python_m_forms_keep_working(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ")  # the tests' language is English
