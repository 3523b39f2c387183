"""Re-verifying an exported answer (``assistant/reverify.py``, ``python -m assistant verify``):
a real index of a small corpus, real verified quotes (no model), a real JSON export; then the
document is edited, removed or the export tampered with, and each quote's verdict checked."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assistant.__main__ import main
from assistant.citations import Evidence
from assistant.core.errors import AssistantError, IndexNotReadyError
from assistant.core.settings import Settings
from assistant.documents import DocumentTexts
from assistant.index.manifest import Manifest, read_document_text
from assistant.provenance import export_json, export_markdown
from assistant.reverify import load_export, verify_export
from assistant.types import Answer, Timings
from assistant.verification import verify_quotes
from ingest import ingest
from tests.answers import made_answer
from tests.conftest import REPO, cli_env

QUOTE = "Het kabinet trekt vijf miljoen euro uit voor de uitvoering van het programma."
NOTE = (
    "Nota over de uitvoering\n\n"
    "De eerste alinea gaat over de aanleiding en noemt nog geen bedragen of jaartallen.\n\n"
    f"{QUOTE} Dat geld komt uit de begroting van het ministerie.\n\n"
    "De laatste alinea sluit de nota af met een korte samenvatting.\n"
)
OTHER = "Een tweede nota\n\nDeze nota gaat over de dienstverlening aan burgers en bedrijven.\n"


@pytest.fixture
def indexed(tmp_path: Path, make_settings: Callable[..., Settings], embedder: Any) -> Settings:
    """A corpus of two small notes, ingested."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "nota.txt").write_text(NOTE, encoding="utf-8")
    (corpus / "andere.txt").write_text(OTHER, encoding="utf-8")
    settings = make_settings(corpus_dir=corpus)
    _ingest(settings, embedder)
    return settings


def _ingest(settings: Settings, embedder: Any) -> None:
    report = ingest(settings=settings, progress=False, embedder=embedder)  # prunes removed files
    assert report.ok, report.summary()


def _note_id(settings: Settings) -> str:
    manifest = Manifest.load(settings.index_dir / "manifest.json")
    (document_id,) = (
        r.document_id for r in manifest.documents.values() if Path(r.source).name == "nota.txt"
    )
    return document_id


def _export(settings: Settings) -> dict[str, Any]:
    """An answer quoting QUOTE, verified like any answer's quotes, exported as JSON."""
    document_id = _note_id(settings)
    stored = read_document_text(settings.index_dir / "documents", document_id)
    start = stored.text.text.index(QUOTE)
    pinned, _ = DocumentTexts(settings.index_dir / "documents").pin({document_id})
    quotes, rejected = verify_quotes([Evidence(document_id, start, start + len(QUOTE))], pinned)
    assert not rejected and [q.text for q in quotes] == [QUOTE]
    answer = made_answer(
        "Hoeveel geld trekt het kabinet uit?", "Vijf miljoen euro.", quotes=tuple(quotes)
    )
    return dict(json.loads(export_json(answer)))


def _edit(settings: Settings, embedder: Any, text: str) -> None:
    (settings.corpus_dir / "nota.txt").write_text(text, encoding="utf-8")
    _ingest(settings, embedder)


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "antwoord.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_export_records_the_hashes_of_document_and_quote(indexed: Settings) -> None:
    data = _export(indexed)
    assert data["export_format"] == 2
    (quote,) = data["quotes"]
    stored = read_document_text(indexed.index_dir / "documents", _note_id(indexed))
    assert stored.text.source is not None
    source = stored.text.source.text
    assert quote["document_sha256"] == hashlib.sha256(source.encode("utf-8")).hexdigest()
    assert quote["quote_sha256"] == hashlib.sha256(QUOTE.encode("utf-8")).hexdigest()
    assert source[quote["source_start"] : quote["source_end"]] == QUOTE


def test_an_unchanged_document_keeps_its_quote_through_the_command_line(
    tmp_path: Path, indexed: Settings
) -> None:
    path = _write(tmp_path, _export(indexed))
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "verify", str(path)],
        cwd=REPO,
        env=cli_env(indexed),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "[1] unchanged: nota" in result.stdout.lower()
    assert "1 of 1 quotes still stand." in result.stdout


def test_text_inserted_before_the_quote_moves_it_and_the_new_offsets_hold(
    indexed: Settings, embedder: Any
) -> None:
    data = _export(indexed)
    insert = "Een nieuwe alinea, later ingevoegd, schuift de rest van de tekst op.\n\n"
    _edit(indexed, embedder, NOTE.replace("De eerste alinea", insert + "De eerste alinea"))
    check = verify_export(data, indexed)
    (quote,) = check.quotes
    assert quote.status == "moved" and quote.stands and check.ok
    assert quote.label == "moved (still stands verbatim)"
    assert quote.current is not None and quote.current.start > quote.exported.start
    stored = read_document_text(indexed.index_dir / "documents", _note_id(indexed))
    assert stored.text.text[quote.current.start : quote.current.end] == QUOTE
    assert stored.text.source is not None
    source = stored.text.source.text
    assert source[quote.current.source_start : quote.current.source_end] == QUOTE
    assert "changed" in quote.message and str(quote.current.start) in quote.message


def test_a_quote_edited_out_of_its_document_is_gone(
    tmp_path: Path, indexed: Settings, embedder: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    path = _write(tmp_path, _export(indexed))
    _edit(indexed, embedder, NOTE.replace(QUOTE, "Over het bedrag is nog niets besloten."))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(indexed.data_dir))
    assert main(["verify", str(path), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False and result["counts"] == {"gone": 1}
    (quote,) = result["quotes"]
    assert quote["status"] == "gone" and quote["current"] is None and not quote["stands"]
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "[1] gone" in out and "0 of 1 quotes still stand." in out
    assert "no longer stands verbatim" in out


def test_a_quote_whose_last_word_now_goes_on_is_gone(indexed: Settings, embedder: Any) -> None:
    """Word snapping would widen the quote to "programmabureau": that is no longer the quote."""
    data = _export(indexed)
    quote = "Het kabinet trekt vijf miljoen euro uit voor de uitvoering van het programma"
    data["quotes"][0]["text"] = quote
    data["quotes"][0]["quote_sha256"] = hashlib.sha256(quote.encode("utf-8")).hexdigest()
    _edit(indexed, embedder, NOTE.replace("programma.", "programmabureau."))
    assert verify_export(data, indexed).quotes[0].status == "gone"


def test_a_removed_document_is_reported(
    tmp_path: Path, indexed: Settings, embedder: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    path = _write(tmp_path, _export(indexed))
    (indexed.corpus_dir / "nota.txt").unlink()
    _ingest(indexed, embedder)
    check = verify_export(load_export(path), indexed)
    assert [q.status for q in check.quotes] == ["document_removed"] and not check.ok
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(indexed.data_dir))
    assert main(["verify", str(path)]) == 1
    assert "[1] document removed" in capsys.readouterr().out


def test_a_tampered_export_is_caught(indexed: Settings) -> None:
    data = _export(indexed)
    tampered = json.loads(json.dumps(data))
    tampered["quotes"][0]["text"] = QUOTE.replace("vijf", "vijftig")
    (quote,) = verify_export(tampered, indexed).quotes
    assert quote.status == "altered" and quote.label == "export altered" and not quote.stands
    # Offsets edited, text left alone: the quote is still found, where it really stands.
    shifted = json.loads(json.dumps(data))
    shifted["quotes"][0]["start"] += 5
    shifted["quotes"][0]["end"] += 5
    (moved,) = verify_export(shifted, indexed).quotes
    assert moved.status == "moved" and moved.current is not None
    assert moved.current.start == data["quotes"][0]["start"]


def test_an_export_without_hashes_is_checked_by_its_text(indexed: Settings) -> None:
    data = _export(indexed)
    old = {k: v for k, v in data.items() if k != "export_format"}
    old["quotes"] = [
        {k: v for k, v in q.items() if not k.endswith("_sha256")} for q in data["quotes"]
    ]
    check = verify_export(old, indexed)
    assert check.export_format == 1 and check.ok
    assert [q.status for q in check.quotes] == ["unchanged"]
    assert check.notes and "cannot be determined" in check.notes[0]
    old["quotes"][0]["text"] = QUOTE.replace("vijf", "vijftig")  # an edit it cannot recognise
    (quote,) = verify_export(old, indexed).quotes
    assert quote.status == "gone" and "export without hash" in quote.message


def test_the_markdown_export_shows_the_hashes(indexed: Settings) -> None:
    data = _export(indexed)
    quote = data["quotes"][0]
    document_id = _note_id(indexed)
    pinned, _ = DocumentTexts(indexed.index_dir / "documents").pin({document_id})
    quotes, _ = verify_quotes([Evidence(document_id, quote["start"], quote["end"])], pinned)
    answer = Answer("v", "a", False, tuple(quotes), (), (), "m", "b", "p", "h", Timings())
    markdown = export_markdown(answer)
    assert f"sha256 source text `{quote['document_sha256']}`" in markdown
    assert f"quote `{quote['quote_sha256']}`" in markdown
    no_hash = dataclasses.replace(
        answer, quotes=(dataclasses.replace(quotes[0], document_sha256=""),)
    )
    assert "sha256" not in export_markdown(no_hash)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("dit is geen json", "cannot be read as JSON"),
        ("[1, 2]", "not an answer export"),
        ('{"vraag": "x"}', "no list of quotes"),
        ('{"quotes": [{"text": "x", "document": "d", "start": "0", "end": 4}]}', "valid start"),
    ],
)
def test_a_file_that_is_not_an_export_is_an_error_with_a_hint(
    tmp_path: Path,
    indexed: Settings,
    content: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    path = tmp_path / "export.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AssistantError, match=message) as caught:
        verify_export(load_export(path), indexed)
    assert caught.value.hint and "Exporteer JSON" in caught.value.hint
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(indexed.data_dir))
    assert main(["verify", str(path)]) == 2
    assert "error:" in capsys.readouterr().err


def test_no_index_is_an_error_that_says_to_ingest(
    tmp_path: Path, indexed: Settings, make_settings: Callable[..., Settings]
) -> None:
    data = _export(indexed)
    empty = make_settings(data_dir=tmp_path / "elders")
    with pytest.raises(IndexNotReadyError, match="python -m ingest"):
        verify_export(data, empty)
