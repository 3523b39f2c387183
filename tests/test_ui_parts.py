"""The UI's building blocks without a browser: escaping, highlighting, export, feedback, uploads."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from html import escape
from pathlib import Path

import pytest

from assistant.core.errors import AssistantError, ConfigurationError
from assistant.core.i18n import activate
from assistant.core.settings import Settings
from assistant.presentation import (
    answer_html,
    error_html,
    passage_html,
    quote_label,
    streaming_html,
)
from assistant.provenance import append_feedback, export_json, export_markdown
from assistant.types import Answer, Passage, Preview, Quote, Timings
from evals.feedback import draft_item
from ingest.uploads import safe_name, store_upload, uploads_dir

EVIL = "<script>alert(1)</script> <img src=x onerror=alert(2)> [klik](javascript:alert(3))"
DOCUMENT = "Inleiding. " + EVIL + " Het kabinet investeert 5 miljoen euro in de uitvoering. Slot."


@pytest.fixture(autouse=True)
def dutch_interface() -> Iterator[None]:
    """These tests read the UI as its users do, in Dutch (the suite's default is English)."""
    activate("nl")
    yield
    activate(None)


def _answer(*, refused: bool = False) -> Answer:
    start = DOCUMENT.index("Het kabinet")
    end = DOCUMENT.index(" Slot.")
    quote = Quote(
        text=DOCUMENT[start:end],
        document="doc-1",
        title="Titel <b>vet</b>",
        page=3,
        start=start,
        end=end,
        source="/corpus/nota.txt",
        heading="2. Financiën",
    )
    passage = Passage(
        text=EVIL, document="doc-1", title="Titel", score=1.0, start=0, end=10, page=None
    )
    return Answer(
        question="Wat investeert het kabinet? " + EVIL,
        text="Het kabinet investeert 5 miljoen euro. " + EVIL,
        refused=refused,
        quotes=() if refused else (quote,),
        rejected_quotes=(),
        passages=(passage,),
        model="qwen <model>",
        backend="embedded",
        prompt_version="v1",
        settings_hash="abc123",
        timings=Timings(total=12.34),
        created_at="2026-11-26T10:00:00+00:00",
    )


def test_answer_html_escapes_model_and_document_text() -> None:
    html = answer_html(_answer())
    assert "<script>" not in html and "<img" not in html and "<b>vet" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;vet&lt;/b&gt;" in html
    assert "class='ba-answer'" in html and "class='ba-quote'" in html
    assert "Titel &lt;b&gt;vet&lt;/b&gt;, p. 3, § 2. Financiën" in html
    assert "qwen &lt;model&gt; · embedded · 12.3 s" in html


def test_the_best_sentences_show_escaped_while_the_answer_streams() -> None:
    quote = _answer().quotes[0]
    html = streaming_html("Het kabinet <i>investeert", Preview((quote,)))
    assert "Het kabinet &lt;i&gt;investeert" in html
    assert html.index("investeert") < html.index("Best passende zinnen")  # the answer on top
    assert quote.text in html and "Titel &lt;b&gt;vet&lt;/b&gt;" in html
    assert "Best passende" not in streaming_html("tekst", Preview(()))
    assert "Best passende" not in streaming_html("tekst")


def test_refusal_looks_different_and_shows_possible_passages() -> None:
    html = answer_html(_answer(refused=True))
    assert "class='ba-refusal'" in html and "Geen antwoord" in html
    assert "Mogelijk relevante passages" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>" not in error_html("Fout <script>", "hint <b>")


def test_passage_marks_exactly_the_quoted_span() -> None:
    answer = _answer()
    html = passage_html(DOCUMENT, answer.quotes[0])
    marked = html.split("<mark>")[1].split("</mark>")[0]
    assert marked == answer.quotes[0].text
    assert "&lt;script&gt;" in html and "<script>" not in html
    label = quote_label(1, answer.quotes[0])
    assert label.startswith("[1] Titel <b>vet</b>, p. 3, § 2. Financiën: “Het kabinet")


def test_exports_carry_the_provenance() -> None:
    answer = _answer()
    data = json.loads(export_json(answer))
    assert data["question"] == answer.question and data["answer"] == answer.text
    quote = data["quotes"][0]
    assert DOCUMENT[quote["start"] : quote["end"]] == quote["text"]
    assert quote["file"] == "nota.txt" and quote["page"] == 3 and quote["section"] == "2. Financiën"
    assert data["model"] == "qwen <model>" and data["settings_hash"] == "abc123"
    assert data["answered_at"] and data["exported_at"]
    markdown = export_markdown(answer)
    assert "> Het kabinet investeert 5 miljoen euro in de uitvoering." in markdown
    assert "abc123" in markdown and "qwen <model>" in markdown


def test_feedback_lines_are_whole_under_concurrency_and_become_drafts(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    answer = _answer()
    threads = [
        threading.Thread(target=append_feedback, args=(path, answer, "up", f"opmerking {i}"))
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert sorted(r["comment"] for r in records) == sorted(f"opmerking {i}" for i in range(20))

    draft = draft_item(records[0])
    assert draft["question"] == answer.question and draft["answerable"] is True
    assert draft["sources"] == [{"document": "nota.txt", "quote": answer.quotes[0].text}]
    assert draft["reference_answer"] == answer.text and draft["review"]
    refused = append_feedback(path, _answer(refused=True), "up", "")
    assert draft_item(refused)["kind"] == "unanswerable"
    assert draft_item({**refused, "rating": "down"})["answerable"] is None  # a person decides


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nota.pdf", "nota.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\evil.DOCX", "evil.docx"),
        ("<img src=x onerror=alert(1)>.txt", "img src_x onerror_alert_1.txt"),
        ("beleid\x00\x1b[31m.md", "beleid_31m.md"),
        ("Überblick – Verordnung.html", "Überblick _ Verordnung.html"),
        ("....txt", "document.txt"),
        ("a" * 300 + ".txt", "a" * 116 + ".txt"),
    ],
)
def test_upload_names_are_sanitised(name: str, expected: str) -> None:
    assert safe_name(name) == expected


def test_uploads_stay_in_the_uploads_folder_and_respect_limits(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(max_file_mb=0.001)
    source = tmp_path / "in.txt"
    source.write_text("Een korte notitie.", encoding="utf-8")
    stored = store_upload(source, "../../buiten.txt", settings)
    assert stored.path.parent == uploads_dir(settings).resolve()
    assert stored.path.name == "buiten.txt" and stored.path.read_text() == "Een korte notitie."
    # Another file under the same name is kept beside it; the same file again replaces itself.
    other = tmp_path / "other.txt"
    other.write_text("Iets anders.", encoding="utf-8")
    assert store_upload(other, "buiten.txt", settings).path != stored.path
    again = store_upload(source, "buiten.txt", settings)
    assert again.path == stored.path
    # ... and is marked as there before, so a failed ingest now leaves it (and its index) alone.
    assert again.existed and not stored.existed

    big = tmp_path / "groot.txt"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(ValueError, match="groter dan de limiet"):
        store_upload(big, "groot.txt", settings)
    with pytest.raises(ValueError, match="niet ondersteund"):
        store_upload(source, "programma.exe", settings)
    # Refused files left nothing behind; no half-written copies either.
    names = sorted(p.name for p in uploads_dir(settings).iterdir())
    assert len(names) == 2 and "buiten.txt" in names
    assert any(n.startswith("buiten-") and n.endswith(".txt") for n in names)


def test_ui_login_setting(make_settings: Callable[..., Settings]) -> None:
    activate("en")  # the settings' own message, in the code's wording
    assert make_settings().ui_credentials() == []
    settings = make_settings(ui_users="anna:geheim1, bram:geheim2")
    assert settings.ui_credentials() == [("anna", "geheim1"), ("bram", "geheim2")]
    assert "geheim" not in repr(settings) and "geheim" not in settings.model_dump_json()
    with pytest.raises(ConfigurationError, match="name:password"):
        make_settings(ui_users="anna")
    assert make_settings().hash() == settings.hash()  # where and for whom, not what


def test_status_names_an_empty_index_and_an_unreachable_model(
    make_settings: Callable[..., Settings],
) -> None:
    from assistant.webui import Services, status_markdown
    from tests.servers import free_port

    settings = make_settings(llm_backend="ollama", ollama_host=f"http://127.0.0.1:{free_port()}")
    services = Services(settings)
    status = status_markdown(services)
    assert "De index is leeg" in status and "0 documenten" in status
    with pytest.raises(AssistantError):
        services.answerer()
    status = status_markdown(services)
    problem = services.backend_problem
    assert problem is not None
    assert "Het taalmodel is niet beschikbaar" in status and escape(problem.message) in status


def test_status_names_an_index_built_with_other_settings(
    corpus_index: tuple[Settings, object],
) -> None:
    from assistant.core.settings import load_settings
    from assistant.webui import Services, status_markdown

    settings, _ = corpus_index
    other = load_settings(**{**settings.model_dump(), "chunk_size": 512, "ui_users": None})
    activate("en")  # the index check's own message, in the code's wording
    status = status_markdown(Services(other))
    assert "built with other settings" in status and "--rebuild" in status


def test_the_app_answers_from_an_index_another_process_changed(
    corpus_index: tuple[Settings, object], tmp_path: Path
) -> None:
    """Several app instances (or the ingest CLI) on one index: what another process ingests is
    searched by the next question, without a restart."""
    import os
    import shutil
    import subprocess
    import sys

    from assistant.core.settings import load_settings
    from assistant.webui import Services
    from tests.conftest import CORPUS, REPO, SMALL_MODEL

    indexed, _ = corpus_index
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(indexed.index_dir, tmp_path / "data" / "index")
    settings = load_settings(
        data_dir=tmp_path / "data",
        corpus_dir=corpus,
        model_cache_dir=indexed.model_cache_dir,
        **SMALL_MODEL,
    )
    services = Services(settings)
    first = services.answerer()
    assert services.answerer() is first  # nothing changed: the same assistant

    (corpus / "notitie-kazerne-assen.md").write_text(
        "# Notitie kazerne Assen\n\nHet kazernebudget voor Assen bedraagt 12 miljoen euro. "
        "De bouw van de kazerne begint in het voorjaar.\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
        "ASSISTANT_CORPUS_DIR": str(corpus),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ingest"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stdout

    second = services.answerer()
    assert second is not first
    passages = second.retrieve("Hoe groot is het kazernebudget voor Assen?", 3)
    assert passages and "kazernebudget" in passages[0].text
