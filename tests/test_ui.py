"""The web UI in a real browser: Debian's Chromium driven by Playwright, against ``python app.py``
started on a free port with the real index and the real 0.5B model, in Dutch (the users'
default interface language; the rest of the suite runs in English).

Screenshots land in ``test-artifacts/ui/`` (git-ignored), with ``timings.json`` holding the
measured time from clicking "Vraag stellen" to the first streamed answer text.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.core.settings import Settings
from assistant.quotes import NormalizedText, locate
from tests.conftest import CORPUS, REPO
from tests.sample_files import page_lines, render_page
from tests.servers import app_env, free_port, wait_until_up

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "ui"
ANSWERABLE = "Wordt AI gebruikt bij gegevensdeling voor de loketfunctie van de overheid?"
UNANSWERABLE = "Hoeveel kost de nieuwe kazerne in Assen?"
ANSWER_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def app_url(
    corpus_index: tuple[Settings, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """``python app.py`` on a free port over a copy of the session's index (uploads change it)."""
    settings, _ = corpus_index
    data = tmp_path_factory.mktemp("ui-data")
    shutil.copytree(settings.index_dir, data / "index")
    port = free_port()
    env = app_env(
        data,
        CORPUS,
        port,
        interface_language="nl",
        model_cache_dir=str(settings.model_cache_dir),
        llm_backend="embedded",
        llm_embedded_model="qwen2.5-coder-0.5b",
        llm_temperature="0",
        top_k="3",
    )
    log = (data / "app.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "app.py"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, process, timeout_s=180)
        yield url, data
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data / "app.log", ARTIFACTS / "app.log")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "install Chromium: apt-get install chromium"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, app_url: tuple[str, Path]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.dialogs = []  # any alert() would be an executed script
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.goto(app_url[0])
    tab.wait_for_selector("#question textarea")
    yield tab
    context.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _shot_at(page: Any, element: Any, name: str) -> None:
    """A screenshot with ``element`` at the top of the chat. Not full-page: resizing the page
    for it makes Gradio scroll the chat back to its last line."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 1300})
    page.wait_for_timeout(500)
    # The question asked just above it is in the picture too (its row comes before).
    element.evaluate(
        "el => { const row = el.closest('[class*=message-row]');"
        " ((row && row.previousElementSibling) || el).scrollIntoView({block: 'start'}); }"
    )
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _ask(page: Any, question: str) -> None:
    page.fill("#question textarea", question)
    page.click("#send")


def _finished(page: Any, count: int = 1) -> Any:
    """The count-th finished bot message (an answer, a refusal or an error)."""
    selector = ".ba-answer:has(.ba-quotes), .ba-refusal, .ba-error"
    page.wait_for_function(
        f"document.querySelectorAll({json.dumps(selector)}).length >= {count}",
        timeout=ANSWER_TIMEOUT_MS,
    )
    return page.locator(selector).nth(count - 1)


def _upload(page: Any, path: Path, *, expect: str = "toegevoegd") -> str:
    """Upload a file in the Documenten tab; returns the status once it contains ``expect``."""
    page.get_by_role("tab", name="Documenten").click()
    page.set_input_files("#upload input[type=file]", str(path))
    page.click("#add")
    page.wait_for_function(
        f"document.querySelector('#documents-status').innerText.includes({json.dumps(expect)})",
        timeout=180_000,
    )
    return str(page.locator("#documents-status").inner_text())


def _record_timing(name: str, seconds: float) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "timings.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = round(seconds, 2)
    path.write_text(json.dumps(data, indent=1))


def test_answer_streams_with_a_verified_quote_and_its_highlighted_source(page: Any) -> None:
    page.wait_for_function(
        "document.querySelector('#status').innerText.includes('qwen2.5-coder-0.5b')",
        timeout=120_000,
    )  # the model server was warmed up at start
    clicked = time.perf_counter()
    _ask(page, ANSWERABLE)
    # Streaming: answer text appears while the message is not finished yet.
    page.wait_for_function(
        "[...document.querySelectorAll('.ba-answer')].some("
        "e => !e.querySelector('.ba-quotes') && e.innerText.replace('…', '').trim().length > 0)",
        timeout=ANSWER_TIMEOUT_MS,
    )
    _record_timing("first_streamed_text_s", time.perf_counter() - clicked)
    answer = _finished(page)
    _record_timing("finished_answer_s", time.perf_counter() - clicked)
    _shot(page, "1-answer-with-quotes")
    assert "ba-answer" in answer.get_attribute("class")
    quotes = answer.locator(".ba-quote").all_inner_texts()
    assert quotes, "an answer is shown only with verified quotes"
    assert "qwen2.5-coder-0.5b" in answer.locator(".ba-footer").inner_text()
    # Every shown quote stands in a corpus document.
    corpus = [NormalizedText(p.read_text(encoding="utf-8")) for p in CORPUS.iterdir()]
    for quote in quotes:
        assert any(locate(quote, text) for text in corpus), quote

    # The first quote is selected; the sources panel shows its passage with the span marked.
    page.wait_for_selector("#source mark", timeout=30_000)
    marked = page.locator("#source mark").inner_text()
    assert " ".join(marked.split()) == " ".join(quotes[0].split())
    passage = page.locator("#source .ba-passage").inner_text()
    assert len(passage) > len(marked) + 100  # the surrounding text is there too
    _shot(page, "2-source-highlighted")

    # Export: the JSON carries the quotes with offsets, model and settings hash.
    page.click("#export-json")
    page.wait_for_selector("#download a", timeout=30_000)
    href = page.locator("#download a").first.get_attribute("href")
    exported = json.loads(page.request.get(href).text())
    assert exported["question"] == ANSWERABLE
    assert exported["quotes"][0]["start"] < exported["quotes"][0]["end"]
    assert exported["model"] == "qwen2.5-coder-0.5b" and exported["settings_hash"]


def test_unanswerable_question_is_refused_visibly(page: Any) -> None:
    _ask(page, UNANSWERABLE)
    refusal = _finished(page)
    _shot(page, "3-refusal")
    assert "ba-refusal" in refusal.get_attribute("class")
    assert "Geen antwoord" in refusal.inner_text()
    assert refusal.locator(".ba-quote").count() >= 1  # the possibly relevant passages


FIRST_TURN = "Wat is de hoofdaanbeveling van de Rli in het advies De uitvoering aan zet?"
FOLLOW_UP = "Hoe reageert het kabinet daarop?"


def test_a_follow_up_is_understood_in_its_conversation_and_a_new_one_starts_clean(
    page: Any, browser: Any, app_url: tuple[str, Path]
) -> None:
    _ask(page, FIRST_TURN)
    _finished(page, 1)
    _ask(page, FOLLOW_UP)
    second = _finished(page, 2)
    _shot_at(page, second.locator(".ba-understood"), "10-conversation-follow-up")
    understood = second.locator(".ba-understood").inner_text()
    assert understood.startswith("Opgevat als: ") and understood != f"Opgevat als: {FOLLOW_UP}"
    if "ba-answer" in second.get_attribute("class"):
        # The follow-up's first quote is the one shown, highlighted, in the source panel.
        page.wait_for_selector("#source mark", timeout=30_000)
        first_quote = second.locator(".ba-quote").first.inner_text()
        marked = page.locator("#source mark").inner_text()
        assert " ".join(marked.split()) == " ".join(first_quote.split())
    # Another staff member's session has its own (empty) conversation.
    other = browser.new_context().new_page()
    try:
        other.goto(app_url[0])
        other.wait_for_selector("#question textarea")
        _ask(other, FOLLOW_UP)
        alone = _finished(other, 1)
        assert alone.locator(".ba-understood").count() == 0
        assert FIRST_TURN not in other.locator("#chat").inner_text()
    finally:
        other.context.close()
    # "Nieuw gesprek" clears this one: the same question now stands on its own.
    page.click("#new-conversation")
    page.wait_for_function(
        "!document.querySelector('#chat').innerText.includes('hoofdaanbeveling')",
        timeout=30_000,
    )
    _ask(page, FOLLOW_UP)
    again = _finished(page, 1)
    assert again.locator(".ba-understood").count() == 0
    _shot(page, "11-new-conversation")


def test_feedback_is_appended_for_the_eval_suite(page: Any, app_url: tuple[str, Path]) -> None:
    _ask(page, UNANSWERABLE)
    _finished(page)
    page.fill("#comment textarea", "Goed dat hij weigert.")
    page.locator("#chat button[aria-label='Like']").last.click()
    page.wait_for_function(
        "document.querySelector('#feedback-status').innerText.includes('opgeslagen')",
        timeout=30_000,
    )
    lines = (app_url[1] / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[-1])
    assert record["rating"] == "up" and record["comment"] == "Goed dat hij weigert."
    assert record["question"] == UNANSWERABLE and record["refused"] is True


def test_uploaded_document_can_be_asked_about(page: Any, tmp_path: Path) -> None:
    document = tmp_path / "Notitie loket Wegwijs.txt"
    document.write_text(
        "Notitie over het Loket Wegwijs\n\n"
        "De gemeente Zuidbroek opent het Loket Wegwijs voor ondernemers op 1 maart 2031.\n"
        "Het Loket Wegwijs helpt ondernemers met vergunningen en subsidies.\n",
        encoding="utf-8",
    )
    _upload(page, document)
    assert "Notitie loket Wegwijs.txt" in page.locator("#documents").inner_text()
    _shot(page, "4-uploaded")
    page.get_by_role("tab", name="Vragen").click()
    _ask(page, "Wanneer opent het Loket Wegwijs in Zuidbroek?")
    answer = _finished(page)
    _shot(page, "5-answer-from-upload")
    assert "ba-answer" in answer.get_attribute("class"), answer.inner_text()
    assert "2031" in " ".join(answer.locator(".ba-quote").all_inner_texts())


def test_an_uploaded_scan_is_read_by_ocr_and_its_quotes_are_marked(
    page: Any, tmp_path: Path
) -> None:
    """A photographed note (PNG, no text layer): Tesseract reads it; the quote says OCR and the
    source panel names the page to check in the original."""
    lines = page_lines(
        "Notitie over het Loket Zeewijk\n\n"
        "De gemeente Zeewijk opent het Loket Zeewijk voor ondernemers op 1 april 2033. "
        "Het Loket Zeewijk helpt ondernemers met vergunningen en subsidies."
    )
    scan = tmp_path / "Scan notitie Zeewijk.png"
    render_page(lines, dpi=200).save(scan)
    _upload(page, scan)
    page.get_by_role("tab", name="Vragen").click()
    _ask(page, "Wanneer opent het Loket Zeewijk?")
    answer = _finished(page)
    assert "ba-answer" in answer.get_attribute("class"), answer.inner_text()
    assert "2033" in " ".join(answer.locator(".ba-quote").all_inner_texts())
    assert answer.locator(".ba-ocr").count() >= 1  # each quote of the scan is marked
    page.wait_for_selector("#source .ba-ocr-note", timeout=30_000)
    note = page.locator("#source .ba-ocr-note").inner_text()
    assert "machinaal gelezen (OCR)" in note and "pagina 1" in note
    _shot(page, "7-ocr-quote")


def test_document_with_script_shows_as_text(page: Any, tmp_path: Path) -> None:
    document = tmp_path / "<img src=x onerror=alert(1)>.txt"
    payload = (
        "<script>alert('doc'); window.__pwned = 1</script> "
        "<img src=x onerror=\"alert('img')\"> [klik hier](javascript:alert('md')) "
        "De Proefcommissie Veenkoloniën adviseert over het waterbeheer in de Veenkoloniën."
    )
    document.write_text(payload + "\n", encoding="utf-8")
    _upload(page, document)
    page.get_by_role("tab", name="Vragen").click()
    _ask(page, "Wat adviseert de Proefcommissie Veenkoloniën?")
    message = _finished(page)
    _shot(page, "6-script-document")
    text = message.inner_text()
    assert "<script>" in text or "<img src=x" in text, text  # shown as text ...
    assert page.evaluate("window.__pwned") is None  # ... and not run
    assert page.dialogs == []
    assert message.locator("script, img").count() == 0


def test_two_staff_members_ask_at_once(browser: Any, app_url: tuple[str, Path]) -> None:
    pages = []
    for _ in range(2):
        context = browser.new_context()
        tab = context.new_page()
        tab.goto(app_url[0])
        tab.wait_for_selector("#question textarea")
        pages.append(tab)
    try:
        _ask(pages[0], ANSWERABLE)
        _ask(pages[1], UNANSWERABLE)
        first, second = _finished(pages[0]), _finished(pages[1])
        for number, tab in enumerate(pages, start=1):
            _shot(tab, f"7-concurrent-{number}")
        # Each session sees its own conversation only.
        assert ANSWERABLE in pages[0].locator("#chat").inner_text()
        assert UNANSWERABLE not in pages[0].locator("#chat").inner_text()
        assert UNANSWERABLE in pages[1].locator("#chat").inner_text()
        assert "ba-refusal" in second.get_attribute("class")
        assert first.get_attribute("class")
    finally:
        for tab in pages:
            tab.context.close()


def _dutch_refusal(question: str, max_tokens: int) -> str:
    """The message the app shows for a question it refuses, in Dutch as the app runs."""
    from assistant.core.errors import QuestionError
    from assistant.core.i18n import activate
    from assistant.questions import check_question

    activate("nl")
    try:
        with pytest.raises(QuestionError) as refused:
            check_question(question, max_tokens)
    finally:
        activate(None)
    return refused.value.message


def test_bad_questions_get_a_message_and_nothing_in_them_runs(
    page: Any, corpus_index: tuple[Settings, Any]
) -> None:
    rejected = [
        "Wat zegt de ROB over de dienstverlening? " * 2500,  # too long: 100 kB pasted
        "Wat is\x1b[31m de taak van de ROB?",  # control characters
        "🙂🤔❓🏛️",  # no words
    ]
    max_tokens = corpus_index[0].question_max_tokens  # the app runs with the same default
    for number, question in enumerate(rejected, start=1):
        _ask(page, question)
        reply = _finished(page, number)
        assert "ba-error" in (reply.get_attribute("class") or ""), reply.inner_text()
        assert _dutch_refusal(question, max_tokens) in reply.inner_text()
    assert len(page.locator("#chat").inner_text()) < 20_000  # the long question is shortened
    injected = (
        "<img src=x onerror=alert(1)><script>window.__pwned = 1</script> **Wat** doet de "
        "[ROB](javascript:alert(2))? ![x](http://127.0.0.1:9/x.png) '; DROP TABLE chunks; --"
    )
    _ask(page, injected)
    reply = _finished(page, len(rejected) + 1)
    _shot(page, "9-bad-questions")
    chat = page.locator("#chat")
    assert "<img src=x onerror=alert(1)>" in chat.inner_text()  # shown as typed, as text
    assert chat.locator("script, img, iframe, a[href^='javascript']").count() == 0
    assert page.evaluate("window.__pwned") is None and page.dialogs == []
    assert reply.get_attribute("class")


def test_the_app_listens_on_loopback_only(app_url: tuple[str, Path]) -> None:
    """Started without settings, the app and its model server bind to 127.0.0.1 only."""
    import psutil

    port = int(app_url[0].rsplit(":", 1)[1].strip("/"))
    owners = [
        c.pid for c in psutil.net_connections("inet") if c.laddr and c.laddr.port == port and c.pid
    ]
    assert owners, "cannot see which process serves the UI"
    app = psutil.Process(owners[0])
    listening = [
        connection.laddr.ip
        for process in [app, *app.children(recursive=True)]
        for connection in process.net_connections("inet")
        if connection.status == psutil.CONN_LISTEN
    ]
    assert listening and set(listening) <= {"127.0.0.1", "::1"}, listening


def test_bad_upload_is_rejected_and_nothing_else_changes(
    page: Any, app_url: tuple[str, Path], tmp_path: Path
) -> None:
    junk = tmp_path / "rapport.txt"
    junk.write_bytes(bytes(range(256)) * 64)  # binary with a .txt name
    page.get_by_role("tab", name="Documenten").click()
    before = page.locator("#documents").inner_text()
    status = _upload(page, junk, expect="✗")
    _shot(page, "8-bad-upload")
    assert "rapport.txt" in status
    assert page.locator("#documents").inner_text() == before
    assert not (app_url[1] / "uploads" / "rapport.txt").exists()


def test_document_can_be_removed(page: Any, app_url: tuple[str, Path], tmp_path: Path) -> None:
    document = tmp_path / "Tijdelijke notitie.txt"
    document.write_text("Deze tijdelijke notitie wordt straks weer verwijderd.\n", encoding="utf-8")
    _upload(page, document)
    assert (app_url[1] / "uploads" / "Tijdelijke notitie.txt").exists()
    page.locator("#remove-pick input").click()
    page.get_by_role("option", name=re.compile("Tijdelijke notitie")).click()
    page.click("#remove")
    page.wait_for_function(
        "document.querySelector('#documents-status').innerText.includes('verwijderd')",
        timeout=120_000,
    )
    _shot(page, "9-removed")
    assert "Tijdelijke notitie" not in page.locator("#documents").inner_text()
    assert not (app_url[1] / "uploads" / "Tijdelijke notitie.txt").exists()


def test_login_and_an_unreachable_model_are_handled(
    browser: Any, corpus_index: tuple[Settings, Any], tmp_path: Path
) -> None:
    """A shared server with a login, whose Ollama is down: nothing without logging in; after
    logging in, the problem is a clear message in the UI, never a stack trace."""
    import urllib.error
    import urllib.request

    settings, _ = corpus_index
    shutil.copytree(settings.index_dir, tmp_path / "data" / "index")
    port = free_port()
    env = app_env(
        tmp_path / "data",
        CORPUS,
        port,
        interface_language="nl",
        ui_users="anna:Geheim-2026",
        llm_backend="ollama",
    )
    env["OLLAMA_HOST"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/", process, timeout_s=180)
        manifest = tmp_path / "data" / "index" / "manifest.json"
        for route in (
            "/config",
            "/gradio_api/info",
            "/gradio_api/queue/status",
            f"/gradio_api/file={manifest}",
            f"/gradio_api/file={CORPUS / 'README.md'}",
        ):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url + route, timeout=10)
            assert refused.value.code in (401, 403), route
        # The API routes that ask, upload or run functions refuse before doing anything.
        for route in (
            "/gradio_api/queue/join",
            "/gradio_api/run/predict",
            "/gradio_api/call/ask",
            "/gradio_api/upload",
        ):
            request = urllib.request.Request(
                url + route,
                data=json.dumps({"data": [ANSWERABLE, [], []], "fn_index": 0}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code in (401, 403, 404, 405), route
            assert b"ba-answer" not in refused.value.read()
        assert not (tmp_path / "data" / "uploads").exists()
        context = browser.new_context()
        tab = context.new_page()
        tab.goto(url + "/")
        tab.fill("input[type=password]", "verkeerd")
        tab.fill("input[type=text]", "anna")
        tab.get_by_role("button", name=re.compile("Login|Inloggen", re.I)).click()
        tab.wait_for_timeout(1000)
        assert tab.locator("#question").count() == 0  # wrong password: still outside
        tab.fill("input[type=text]", "anna")
        tab.fill("input[type=password]", "Geheim-2026")
        tab.get_by_role("button", name=re.compile("Login|Inloggen", re.I)).click()
        tab.wait_for_selector("#question textarea", timeout=60_000)
        tab.wait_for_function(
            "document.querySelector('#status').innerText.includes('niet beschikbaar')",
            timeout=60_000,
        )
        _ask(tab, ANSWERABLE)
        error = _finished(tab)
        _shot(tab, "10-login-model-unreachable")
        assert "ba-error" in error.get_attribute("class")
        assert "Ollama" in error.inner_text() and "Traceback" not in error.inner_text()
        context.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.long
def test_four_staff_members_ask_while_a_fifth_uploads(
    browser: Any, app_url: tuple[str, Path], tmp_path: Path
) -> None:
    """Four browser sessions ask at the same moment while a fifth adds a document: every answer
    arrives, none is an error, and the new document is answerable afterwards."""
    questions = [
        ANSWERABLE,
        UNANSWERABLE,
        "Op welke vier zaken zet de Actieagenda Sterk Bestuur in?",
        "What share of external hiring at central government in 2022 was for ICT work?",
    ]
    tabs = []
    for _ in range(len(questions) + 1):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.goto(app_url[0])
        tab.wait_for_selector("#question textarea")
        tabs.append(tab)
    document = tmp_path / "Notitie Ketenloket Oost.txt"
    document.write_text(
        "Notitie over het Ketenloket Oost\n\n"
        "Het Ketenloket Oost in Deventer helpt sinds 2 februari 2032 zzp'ers met hun "
        "belastingzaken.\n",
        encoding="utf-8",
    )
    try:
        began = time.monotonic()
        for tab, question in zip(tabs, questions, strict=False):
            _ask(tab, question)
        uploader = tabs[-1]
        uploader.get_by_role("tab", name="Documenten").click()
        uploader.set_input_files("#upload input[type=file]", str(document))
        uploader.click("#add")
        latencies = []
        for tab in tabs[:-1]:
            reply = _finished(tab)
            latencies.append(time.monotonic() - began)
            assert "ba-error" not in (reply.get_attribute("class") or ""), reply.inner_text()
        uploader.wait_for_function(
            "document.querySelector('#documents-status').innerText.includes('toegevoegd')",
            timeout=ANSWER_TIMEOUT_MS,
        )
        for number, tab in enumerate(tabs, start=1):
            _shot(tab, f"10-load-{number}")
        _ask(tabs[0], "Sinds wanneer helpt het Ketenloket Oost zzp'ers?")
        reply = _finished(tabs[0], 2)
        assert "2032" in reply.inner_text(), reply.inner_text()
    finally:
        for tab in tabs:
            tab.context.close()
    latencies.sort()
    figures = {
        "browser_sessions_asking": len(questions),
        "plus_one_uploading": True,
        "model": "qwen2.5-coder-0.5b (embedded), top_k 3",
        "errors": 0,
        "first_answer_s": round(latencies[0], 1),
        "last_answer_s": round(latencies[-1], 1),
    }
    out = REPO / "test-artifacts" / "reliability"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ui-concurrent.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nui-concurrent: {json.dumps(figures)}")
