"""The web UI for staff: ``python app.py`` serves it on http://127.0.0.1:7860 (settings:
``ASSISTANT_UI_HOST``, ``ASSISTANT_UI_PORT``, ``ASSISTANT_UI_USERS`` for a login).

Tabs: *Vragen* (chat with streamed answers, numbered verified quotes, the source passage of a
quote highlighted, export, feedback) and *Documenten* (the index, upload, remove). Everything
heavy is built once by :class:`Services` and shared by all sessions; the model server is one
process for all users, its requests queue there.
"""

# No ``from __future__ import annotations`` here: Gradio reads the handlers' annotations
# (gr.SelectData, gr.LikeData) at run time to know which arguments to inject.
import atexit
import logging
import shutil
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from assistant.core import runtime_env  # noqa: F401  (environment before heavy imports)
from assistant.core.errors import AssistantError
from assistant.core.settings import Settings, load_settings
from assistant.presentation import CSS

log = logging.getLogger("app")
#: Characters of a question shown in the chat (the whole question is still what is answered).
_QUESTION_SHOWN = 1000

QUESTION_EXAMPLES = [
    "Wat constateert de ROB over de publieke dienstverlening?",
    "Welke vijf opgaven noemt de Rli voor de uitvoering?",
    "What does the cabinet say about the Staat van de Uitvoering?",
]


@dataclass
class Problem:
    message: str
    hint: str = ""


class Services:
    """The composition root of the UI: settings, embedder, model backend and the assistant over
    the current index, rebuilt (same embedder, same model server) after the index changes."""

    def __init__(self, settings: Settings) -> None:
        from assistant.index.embed import build_embedder

        self.settings = settings
        self.embedder = build_embedder(settings)
        self._lock = threading.RLock()
        self._answerer: Any = None
        self._answered_version: Any = None
        self._backend: Any = None
        self.backend_problem: Problem | None = None
        self.index_lock = threading.Lock()  # uploads and removals, one at a time

    def backend(self) -> Any:
        from assistant.llm.backends import build_backend

        with self._lock:
            if self._backend is None:
                try:
                    self._backend = build_backend(self.settings)
                    self.backend_problem = None
                except AssistantError as exc:
                    self.backend_problem = Problem(exc.message, exc.hint or "")
                    raise
            return self._backend

    def answerer(self) -> Any:
        """The assistant over the index as it is now (AssistantError when it cannot answer):
        rebuilt when the index changed, also when another process (``python -m ingest``, another
        app instance on a shared index) changed it."""
        from assistant.components import build_assistant, index_version

        with self._lock:
            version = index_version(self.settings)
            if self._answerer is None or version != self._answered_version:
                self._answerer = build_assistant(
                    self.settings, embedder=self.embedder, backend=self.backend()
                )
                self._answered_version = version
            return self._answerer

    def index_changed(self) -> None:
        with self._lock:
            self._answerer = None

    def warm_up(self) -> None:
        """Start the model server in the background so the first question does not wait."""

        def run() -> None:
            try:
                backend = self.backend()
                if backend.server is not None:
                    backend.server.ensure_running()
                self.answerer()
            except AssistantError as exc:
                log.warning("warm-up: %s", exc)

        threading.Thread(target=run, name="warm-up", daemon=True).start()

    def manifest(self) -> Any:
        from assistant.index.manifest import Manifest

        return Manifest.load(self.settings.index_dir / "manifest.json")


# --- handlers (plain functions of the services, so they can be tested without a browser) -------
def status_markdown(services: Services) -> str:
    from html import escape

    manifest = services.manifest()
    documents, chunks = len(manifest.documents), len(manifest.chunk_ids())
    parts = []
    backend = services._backend
    if backend is not None:
        parts.append(f"Model: **{escape(backend.model)}** ({escape(backend.name)})")
    elif services.backend_problem is None:
        parts.append("Model: wordt gestart…")
    parts.append(f"Index: {documents} documenten, {chunks} passages")
    lines = [" · ".join(parts)]
    if services.backend_problem is not None:
        problem = services.backend_problem
        lines.append(
            f"<span class='ba-status-problem'>Het taalmodel is niet beschikbaar: "
            f"{escape(problem.message)}</span> {escape(problem.hint)}"
        )
    if manifest.config is not None:
        from assistant.index.config import check_config

        try:
            check_config(manifest.config, services.settings)
        except AssistantError as exc:
            lines.append(
                f"<span class='ba-status-problem'>{escape(exc.message)}</span> "
                f"{escape(exc.hint or '')}"
            )
    if documents == 0:
        lines.append(
            "<span class='ba-status-problem'>De index is leeg.</span> Voeg documenten toe in het "
            "tabblad Documenten, of draai `python -m ingest`."
        )
    return "<br>".join(lines)


def documents_rows(services: Services) -> list[list[Any]]:
    manifest = services.manifest()
    rows = []
    for record in sorted(manifest.documents.values(), key=lambda r: r.title.lower()):
        rows.append(
            [
                record.title,
                Path(record.source).name,
                len(record.chunk_ids),
                record.ingested_at[:19].replace("T", " "),
                record.document_id,
            ]
        )
    return rows


def document_choices(services: Services) -> list[tuple[str, str]]:
    return [(f"{row[0]} ({row[1]})", row[4]) for row in documents_rows(services)]


def quote_choices(answers: list[Any], index: int | None) -> list[tuple[str, str]]:
    from assistant.presentation import quote_label

    if index is None or not 0 <= index < len(answers) or answers[index] is None:
        return []
    answer = answers[index]
    return [
        (quote_label(number, quote), f"{index}:{number - 1}")
        for number, quote in enumerate(answer.quotes, start=1)
    ]


def source_html(services: Services, answers: list[Any], choice: str | None) -> str:
    from assistant.index.manifest import read_document_text
    from assistant.presentation import passage_html

    if not choice:
        return "<p><i>Kies een citaat om de passage in het brondocument te zien.</i></p>"
    answer_index, quote_index = (int(part) for part in choice.split(":"))
    quote = answers[answer_index].quotes[quote_index]
    try:
        stored = read_document_text(services.settings.index_dir / "documents", quote.document)
    except (OSError, ValueError):
        return "<p><i>Dit document staat niet meer in de index.</i></p>"
    return passage_html(stored.text.text, quote)


def build_ui(services: Services) -> Any:
    import gradio as gr

    from assistant.presentation import answer_html, error_html, streaming_html
    from assistant.provenance import append_feedback, export_json, export_markdown
    from ingest.pipeline import ingest, remove_documents
    from ingest.uploads import ALLOWED_SUFFIXES, store_upload, uploads_dir

    settings = services.settings
    feedback_file = settings.data_dir / "feedback.jsonl"
    exports = Path(tempfile.mkdtemp(prefix="beleidsassistent-export-"))
    # Exports are handed to the browser and then useless; they go when the app stops.
    atexit.register(shutil.rmtree, exports, ignore_errors=True)

    def ask(question: str, history: list[dict[str, Any]], answers: list[Any]) -> Any:
        from html import escape

        question = (question or "").strip()
        history = list(history or [])
        answers = list(answers or [])
        if not question:
            yield "", history, answers, gr.update(), gr.update()
            return
        # A pasted report would flood the chat; its start is enough to recognise it.
        shown = question if len(question) <= _QUESTION_SHOWN else question[:_QUESTION_SHOWN] + " …"
        history.append({"role": "user", "content": escape(shown)})
        history.append({"role": "assistant", "content": streaming_html("")})
        answers.append(None)
        yield "", history, answers, gr.update(), gr.update()
        text = ""
        try:
            for part in services.answerer().stream_answer(question):
                if isinstance(part, str):
                    text += part
                    history[-1] = {"role": "assistant", "content": streaming_html(text)}
                    yield "", history, answers, gr.update(), gr.update()
                else:
                    answers[-1] = part
                    history[-1] = {"role": "assistant", "content": answer_html(part)}
        except AssistantError as exc:
            history[-1] = {"role": "assistant", "content": error_html(exc.message, exc.hint or "")}
        except Exception:
            log.exception("answering %r failed", question[:200])
            history[-1] = {
                "role": "assistant",
                "content": error_html(
                    "Er ging iets mis bij het beantwoorden.",
                    "Probeer het opnieuw; blijft het misgaan, meld het dan aan de beheerder "
                    "(details staan in het log van de server).",
                ),
            }
        index = len(answers) - 1
        choices = quote_choices(answers, index)
        yield (
            "",
            history,
            answers,
            gr.update(choices=choices, value=choices[0][1] if choices else None),
            index,
        )

    def select_message(answers: list[Any], event: gr.SelectData) -> Any:
        # Chat messages alternate question, answer: message 2k+1 is answer k.
        index = event.index if isinstance(event.index, int) else event.index[0]
        answer_index = index // 2
        choices = quote_choices(answers, answer_index)
        return gr.update(choices=choices, value=choices[0][1] if choices else None), answer_index

    def selected(answers: list[Any], index: int | None) -> Any:
        if index is None or not 0 <= index < len(answers or []) or answers[index] is None:
            return None
        return answers[index]

    def export(kind: str, answers: list[Any], index: int | None) -> Any:
        answer = selected(answers, index)
        if answer is None:
            gr.Warning("Er is nog geen antwoord om te exporteren.")
            return None
        stamp = (answer.created_at or "antwoord").replace(":", "").replace("-", "")[:15]
        path = exports / f"antwoord-{stamp}-{index}.{kind}"
        content = export_json(answer) if kind == "json" else export_markdown(answer)
        path.write_text(content, encoding="utf-8")
        return str(path)

    def like(answers: list[Any], comment: str, event: gr.LikeData) -> str:
        index = event.index if isinstance(event.index, int) else event.index[0]
        answer = selected(answers, index // 2)
        if answer is None:
            return "Bij dit bericht hoort geen antwoord."
        rating: Literal["up", "down"] = "up" if event.liked else "down"
        append_feedback(feedback_file, answer, rating, comment or "")
        return f"Feedback opgeslagen ({'duim omhoog' if rating == 'up' else 'duim omlaag'})."

    def send_comment(answers: list[Any], index: int | None, comment: str) -> Any:
        answer = selected(answers, index)
        if answer is None or not (comment or "").strip():
            return "Kies een antwoord en schrijf een opmerking.", comment
        append_feedback(feedback_file, answer, None, comment)
        return "Opmerking opgeslagen.", ""

    def refresh() -> Any:
        return (
            status_markdown(services),
            documents_rows(services),
            gr.update(choices=document_choices(services), value=None),
        )

    # Gradio injects the progress tracker through this default (its documented idiom); with
    # track_tqdm the ingest's own progress bars show in the browser.
    def upload(
        files: list[Any] | None,
        progress: Any = gr.Progress(track_tqdm=True),  # noqa: B008
    ) -> Any:
        from html import escape

        if not files:
            return ("Kies eerst een of meer bestanden.", *refresh())
        messages: list[str] = []
        stored = []
        for file in files:
            path = Path(getattr(file, "name", file))
            original = getattr(file, "orig_name", None) or path.name
            try:
                stored.append(store_upload(path, original, settings))
            except ValueError as exc:
                messages.append(f"✗ {escape(str(exc))}")
        if stored:
            with services.index_lock:
                try:
                    report = ingest(
                        [s.path for s in stored], settings=settings, embedder=services.embedder
                    )
                except AssistantError as exc:
                    for upload in stored:
                        if not upload.existed:  # an earlier upload of it stays indexed
                            upload.path.unlink(missing_ok=True)
                    messages.append(f"✗ {escape(exc.message)} {escape(exc.hint or '')}")
                    return ("<br>".join(messages), *refresh())
                services.index_changed()
            failed = {Path(f.path).resolve(): f for f in report.failed}
            for upload in stored:
                failure = failed.get(upload.path)
                if failure is not None:
                    if not upload.existed:
                        upload.path.unlink(missing_ok=True)  # nothing of a rejected file stays
                    messages.append(
                        f"✗ {escape(upload.original_name)}: {escape(failure.reason)} "
                        f"{escape(failure.hint or '')}"
                    )
                elif str(upload.path) in report.unchanged:
                    messages.append(f"= {escape(upload.original_name)}: stond al in de index.")
                else:
                    messages.append(f"✓ {escape(upload.original_name)} toegevoegd.")
        return ("<br>".join(messages), *refresh())

    def remove(document_id: str | None) -> Any:
        from html import escape

        if not document_id:
            return ("Kies eerst een document.", *refresh())
        record = services.manifest().documents.get(document_id)
        with services.index_lock:
            try:
                remove_documents([document_id], settings=settings, embedder=services.embedder)
            except AssistantError as exc:
                return (f"✗ {escape(exc.message)} {escape(exc.hint or '')}", *refresh())
            services.index_changed()
        message = f"✓ {escape(record.title if record else document_id)} verwijderd uit de index."
        if record is not None:
            source = Path(record.source).resolve()
            if source.parent == uploads_dir(settings).resolve():
                source.unlink(missing_ok=True)
            elif source.exists():
                message += (
                    f" Het bestand {escape(source.name)} staat nog in {escape(str(source.parent))}"
                    ": verwijder het daar ook, anders komt het bij de volgende indexering terug."
                )
        return (message, *refresh())

    with gr.Blocks(title="Beleidsassistent") as demo:
        gr.Markdown(
            "# Beleidsassistent\nVragen over beleidsdocumenten, met controleerbare citaten."
        )
        status = gr.Markdown(status_markdown(services), elem_id="status")
        answers = gr.State([])
        current = gr.State(None)
        with gr.Tab("Vragen"), gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="Gesprek",
                    elem_id="chat",
                    height=520,
                    render_markdown=False,
                    sanitize_html=True,
                    feedback_options=("Like", "Dislike"),
                    placeholder="Stel een vraag over de documenten in de index.",
                )
                with gr.Row():
                    question = gr.Textbox(
                        label="Vraag",
                        placeholder="Bijvoorbeeld: " + QUESTION_EXAMPLES[0],
                        elem_id="question",
                        scale=5,
                        max_lines=6,
                    )
                    send = gr.Button("Vraag stellen", variant="primary", elem_id="send")
                gr.Examples(QUESTION_EXAMPLES, inputs=question, label="Voorbeelden")
            with gr.Column(scale=2):
                quote_pick = gr.Dropdown(
                    label="Citaat", choices=[], elem_id="quote-pick", interactive=True
                )
                source = gr.HTML(source_html(services, [], None), elem_id="source")
                with gr.Row():
                    export_md = gr.Button("Exporteer Markdown", elem_id="export-md")
                    export_js = gr.Button("Exporteer JSON", elem_id="export-json")
                download = gr.File(label="Download", elem_id="download", interactive=False)
                comment = gr.Textbox(
                    label="Opmerking bij het gekozen antwoord (optioneel)",
                    elem_id="comment",
                    lines=2,
                )
                send_note = gr.Button("Opmerking versturen", elem_id="send-comment")
                feedback_status = gr.Markdown(elem_id="feedback-status")
        with gr.Tab("Documenten"):
            table = gr.Dataframe(
                value=documents_rows(services),
                headers=["Titel", "Bestand", "Passages", "Geïndexeerd", "Id"],
                datatype=["str", "str", "number", "str", "str"],
                interactive=False,
                elem_id="documents",
            )
            files = gr.File(
                label=f"Documenten toevoegen ({', '.join(ALLOWED_SUFFIXES)}; "
                f"hoogstens {settings.max_file_mb:g} MiB per bestand)",
                file_count="multiple",
                file_types=list(ALLOWED_SUFFIXES),
                elem_id="upload",
            )
            add = gr.Button("Toevoegen aan de index", variant="primary", elem_id="add")
            with gr.Row():
                pick = gr.Dropdown(
                    label="Document", choices=document_choices(services), elem_id="remove-pick"
                )
                drop = gr.Button("Verwijderen uit de index", variant="stop", elem_id="remove")
            documents_status = gr.Markdown(elem_id="documents-status")

        ask_outputs = [question, chat, answers, quote_pick, current]
        for trigger in (send.click, question.submit):
            trigger(ask, [question, chat, answers], ask_outputs, concurrency_id="answer").then(
                lambda: status_markdown(services), None, status
            )
        chat.select(select_message, [answers], [quote_pick, current])
        quote_pick.change(lambda a, c: source_html(services, a, c), [answers, quote_pick], source)
        export_md.click(lambda a, i: export("md", a, i), [answers, current], download)
        export_js.click(lambda a, i: export("json", a, i), [answers, current], download)
        chat.like(like, [answers, comment], feedback_status)
        send_note.click(send_comment, [answers, current, comment], [feedback_status, comment])
        index_outputs = [documents_status, status, table, pick]
        add.click(upload, [files], index_outputs, concurrency_limit=1, concurrency_id="index")
        drop.click(remove, [pick], index_outputs, concurrency_limit=1, concurrency_id="index")
        demo.load(refresh, None, [status, table, pick])

        # While the model is starting (a remote Ollama may take its retries), the status line
        # follows it; the timer stops once the model is ready or has failed.
        starting = gr.Timer(2.0)

        def follow_model() -> tuple[str, Any]:
            waiting = services._backend is None and services.backend_problem is None
            return status_markdown(services), gr.Timer(active=waiting)

        starting.tick(follow_model, None, [status, starting], show_progress="hidden")
    demo.queue(default_concurrency_limit=settings.ui_concurrency)
    return demo


def ui_theme() -> Any:
    """Gradio's default look with local fonts: the default theme would fetch Google Fonts,
    which a machine without internet waits for."""
    import gradio as gr

    return gr.themes.Default(
        font=["system-ui", "Segoe UI", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
        services = Services(settings)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # A service manager stops us with SIGTERM, whose default ends the process without running
    # the exit handlers (they stop the model server and remove the exports); exit normally.
    signal.signal(signal.SIGTERM, _exit)
    services.warm_up()
    demo = build_ui(services)
    credentials = settings.ui_credentials()
    if settings.ui_host not in ("127.0.0.1", "localhost", "::1") and not credentials:
        log.warning(
            "The UI listens on %s without a login: anyone who can reach this machine can use "
            "it. Set ASSISTANT_UI_USERS=name:password.",
            settings.ui_host,
        )
    demo.launch(
        server_name=settings.ui_host,
        server_port=settings.ui_port,
        auth=credentials or None,
        auth_message="Log in met het account dat de beheerder u gaf." if credentials else None,
        max_file_size=f"{settings.max_file_mb:g}mb",
        show_error=False,
        footer_links=[],
        css=CSS,
        theme=ui_theme(),
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
    )
    return 0


def _exit(signum: int, frame: Any) -> None:
    log.info("stopping (signal %s)", signum)
    sys.exit(0)


if __name__ == "__main__":
    sys.exit(main())
