"""The interface's catalogue: every message in the code has its Dutch translation, the compiled
catalogues are the current ones, and the language switch works (assistant/core/i18n.py)."""

from __future__ import annotations

import ast
import gettext
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from assistant.core import i18n

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "assistant" / "locale"
SOURCES = ("assistant", "ingest", "evals")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
_PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\([a-z_]+\)[rsd]|%[rsd]")


def extracted(root: Path = ROOT, sources: tuple[str, ...] = SOURCES) -> dict[str, str]:
    """msgid (singular) -> where it is used, as `make messages` extracts them."""
    found: dict[str, str] = {}
    for source in sources:
        for filename, line, message, _comments, _context in extract_from_dir(
            root / source, keywords=KEYWORDS, comment_tags=()
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, f"{source}/{filename}:{line}")
    return found


def catalogue(lang: str) -> dict[str, object]:
    with (LOCALE / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("rb") as handle:
        po = read_po(handle, locale=lang)
    return {
        (m.id[0] if isinstance(m.id, tuple) else m.id): m
        for m in po
        if m.id and "fuzzy" not in m.flags
    }


def untranslated(messages: dict[str, str], lang: str = "nl") -> list[str]:
    entries = catalogue(lang)
    problems = []
    for msgid, where in sorted(messages.items()):
        entry = entries.get(msgid)
        strings = getattr(entry, "string", None)
        if entry is None:
            problems.append(f"{where}: {msgid!r} is not in the {lang} catalogue (make messages)")
        elif not strings or (isinstance(strings, tuple) and not all(strings)):
            problems.append(f"{where}: {msgid!r} has no {lang} translation")
    return problems


def test_every_message_has_a_dutch_translation() -> None:
    problems = untranslated(extracted())
    assert problems == [], "\n".join(problems)


def test_every_message_is_in_the_english_catalogue() -> None:
    """English is the code's own wording; its catalogue lists every message (an empty
    translation means "as written") so a translator can adjust one without touching code."""
    entries = catalogue("en")
    assert sorted(set(extracted()) - set(entries)) == []


def test_the_check_sees_a_message_without_translation(tmp_path: Path) -> None:
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "new.py").write_text(
        'from assistant.core.i18n import _\nprint(_("A message nobody translated yet."))\n',
        encoding="utf-8",
    )
    found = extracted(tmp_path, ("probe",))
    assert list(found) == ["A message nobody translated yet."]
    assert len(untranslated(found)) == 1


def test_translations_keep_the_placeholders() -> None:
    problems = []
    for msgid, entry in catalogue("nl").items():
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for text in strings:
            if text and sorted(_PLACEHOLDER.findall(text)) != sorted(_PLACEHOLDER.findall(msgid)):
                problems.append(f"{msgid!r} -> {text!r}")
    assert problems == [], "\n".join(problems)


def _calls(path: Path) -> Iterator[tuple[int, ast.Call]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in KEYWORDS
        ):
            yield node.lineno, node


def test_messages_are_literals_the_catalogue_can_hold() -> None:
    """An f-string or a variable inside _() would be looked up under a text the catalogue never
    saw, and silently shown untranslated."""
    problems = []
    for source in SOURCES:
        for path in sorted((ROOT / source).rglob("*.py")):
            for line, call in _calls(path):
                argument = call.args[0] if call.args else None
                literal = isinstance(argument, ast.Constant) and isinstance(argument.value, str)
                passes_on = isinstance(argument, ast.Name | ast.Subscript | ast.Attribute)
                if not literal and not (call.func.id == "_" and passes_on):  # type: ignore[attr-defined]
                    problems.append(f"{path.relative_to(ROOT)}:{line}")
    assert problems == []


def test_the_compiled_catalogues_are_current() -> None:
    """The .mo files (what runs) say what the .po files (what is edited) say: `make messages`."""
    for lang in i18n.LANGUAGES:
        with (LOCALE / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo").open("rb") as handle:
            compiled = gettext.GNUTranslations(handle)
        for msgid, entry in catalogue(lang).items():
            if isinstance(entry.id, tuple):
                expected = entry.string[0] or entry.id[0]  # type: ignore[index]
                assert compiled.ngettext(entry.id[0], entry.id[1], 1) == expected, msgid
            else:
                assert compiled.gettext(msgid) == (entry.string or msgid), msgid


@pytest.fixture
def language() -> Iterator[None]:
    yield
    i18n.activate(None)


def test_dutch_is_the_default_and_english_is_available(
    monkeypatch: pytest.MonkeyPatch, language: None
) -> None:
    message = "Invalid settings: {problems}."
    monkeypatch.delenv(i18n.ENVIRONMENT_VARIABLE)
    assert i18n.language() == "nl"
    assert i18n._(message) == "Ongeldige instellingen: {problems}."
    monkeypatch.setenv(i18n.ENVIRONMENT_VARIABLE, "en")
    assert i18n._(message) == message
    i18n.activate("nl")  # an explicit choice (the settings, a .env file) wins over the variable
    assert i18n._(message).startswith("Ongeldige")
    with pytest.raises(ValueError, match="fr"):
        i18n.activate("fr")


def test_an_error_reads_in_the_chosen_language(tmp_path: Path) -> None:
    """End to end through a real command: a bad setting, reported in Dutch and in English."""
    env = {"PATH": "/usr/bin:/bin", "ASSISTANT_TOP_K": "0", "HOME": str(tmp_path)}
    outputs = {}
    for lang in i18n.LANGUAGES:
        result = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "config"],
            cwd=tmp_path,
            env={**env, "ASSISTANT_INTERFACE_LANGUAGE": lang, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, result.stderr
        outputs[lang] = result.stderr
    assert "Ongeldige instellingen" in outputs["nl"] and "fout:" in outputs["nl"]
    assert "Invalid settings" in outputs["en"] and "error:" in outputs["en"]
