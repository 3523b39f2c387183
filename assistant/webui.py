"""The web UI for staff: ``python app.py`` serves it on http://127.0.0.1:7860 (settings:
``ASSISTANT_UI_HOST``, ``ASSISTANT_UI_PORT``, ``ASSISTANT_UI_USERS`` for a login).

Tabs: *Vragen* (a conversation with streamed answers: follow-up questions lean on the earlier
ones of the same browser session, "Nieuw gesprek" clears it; numbered verified quotes, the
source passage of a quote highlighted, export, feedback) and *Documenten* (the index, upload,
remove). Everything heavy is built once by :class:`Services` (``assistant/services.py``) and
shared by all sessions; the model server is one process for all users, its requests queue there.
"""

# No ``from __future__ import annotations`` here: Gradio reads the handlers' annotations
# (gr.SelectData, gr.LikeData) at run time to know which arguments to inject.
import atexit
import logging
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from assistant import presentation as view
from assistant.core import runtime_env  # noqa: F401  (environment before heavy imports)
from assistant.core.commandline import activate_interface_language
from assistant.core.commandline import parser as command_parser
from assistant.core.errors import AssistantError
from assistant.core.i18n import _
from assistant.core.settings import load_settings
from assistant.index.layout import IndexLayout
from assistant.index.manifest import read_document_text
from assistant.provenance import append_feedback, export_json, export_markdown
from assistant.services import Services
from assistant.types import Answer, Preview

if TYPE_CHECKING:
    from ingest.library import UploadResult

log = logging.getLogger("app")

#: Questions to try, as a user would ask them (not interface messages: they are asked of the
#: Dutch documents, in both languages the assistant answers in).
QUESTION_EXAMPLES = [
    "Wat constateert de ROB over de publieke dienstverlening?",
    "Welke vijf opgaven noemt de Rli voor de uitvoering?",
    "What does the cabinet say about the Staat van de Uitvoering?",
]

#: The answers of one session, in the order asked (None while one is written or when it failed).
Answers = list[Answer | None]


# --- what the UI shows (plain functions of the services, testable without a browser) ----------
def status_markdown(services: Services) -> str:
    manifest = services.manifest()
    backend, problem = services.started_backend, services.backend_problem
    index_problem = None
    if manifest.config is not None:
        from assistant.index.config import check_config

        try:
            check_config(manifest.config, services.settings)
        except AssistantError as exc:
            index_problem = (exc.message, exc.hint or "")
    return view.status_html(
        model=(backend.model, backend.name) if backend is not None else None,
        model_problem=(problem.message, problem.hint) if problem is not None else None,
        index_problem=index_problem,
        documents=len(manifest.documents),
        chunks=len(manifest.chunk_ids()),
    )


def documents_rows(services: Services) -> list[list[Any]]:
    return view.documents_table(services.manifest().documents.values())


def document_choices(services: Services) -> list[tuple[str, str]]:
    return [(f"{row[0]} ({row[1]})", row[4]) for row in documents_rows(services)]


def _selected(answers: Answers, index: int | None) -> Answer | None:
    if index is None or not 0 <= index < len(answers or []):
        return None
    return answers[index]


def _answer_index(message: int | Sequence[int]) -> int:
    """The answer a chat message belongs to (Gradio names it by an int or ``[row, column]``):
    messages alternate question and answer, so message 2k+1 is answer k."""
    return (message if isinstance(message, int) else message[0]) // 2


def source_html(services: Services, answers: Answers, choice: str | None) -> str:
    if not choice:
        return view.note_html(_("Choose a quote to see its passage in the source document."))
    answer_index, quote_index = (int(part) for part in choice.split(":"))
    answer = answers[answer_index]
    assert answer is not None  # only an answer's quotes are offered
    quote = answer.quotes[quote_index]
    try:
        stored = read_document_text(
            IndexLayout(services.settings.index_dir).documents, quote.document
        )
    except (OSError, ValueError, AssistantError):
        return view.note_html(_("This document is no longer in the index."))
    source = stored.text.source.text if stored.text.source is not None else None
    return view.passage_html(stored.text.text, quote, source)


def upload_message(result: "UploadResult") -> str:
    lines = [view.problem_line(rejected.reason) for rejected in result.rejected]
    if result.error is not None:
        lines.append(view.error_line(result.error))
    lines.extend(view.upload_line(o.name, o.status, o.reason, o.hint) for o in result.outcomes)
    return "<br>".join(lines)


# --- event handlers (plain methods over the services; build_ui wires them to the components) --
def _update(**changes: Any) -> Any:
    import gradio as gr

    return gr.update(**changes)


def _quote_pick(answers: Answers, index: int) -> Any:
    """The quote dropdown showing the quotes of answer ``index``, the first chosen."""
    choices = view.quote_choices(answers, index)
    return _update(choices=choices, value=choices[0][1] if choices else None)


def _reply(content: str) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


class Handlers:
    """What the UI's events do; one instance serves all sessions (their state comes in)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.feedback_file = services.settings.data_dir / "feedback.jsonl"
        self.exports = Path(tempfile.mkdtemp(prefix="beleidsassistent-export-"))
        # Exports are handed to the browser and then useless; they go when the app stops.
        atexit.register(shutil.rmtree, self.exports, ignore_errors=True)

    def ask(self, question: str, history: list[dict[str, Any]], answers: Answers) -> Iterator[Any]:
        question = (question or "").strip()
        history = list(history or [])
        answers = list(answers or [])
        if not question:
            yield "", history, answers, _update(), _update()
            return
        # The conversation so far (this browser session's own answers): a follow-up leans on it.
        conversation = [a for a in answers if a is not None]
        history.append({"role": "user", "content": view.question_html(question)})
        history.append(_reply(view.streaming_html("")))
        answers.append(None)
        yield "", history, answers, _update(), _update()
        text = ""
        preview: Preview | None = None
        try:
            answerer = self.services.answerer()
            for part in answerer.stream_answer(question, history=conversation, preview=True):
                if isinstance(part, Answer):
                    answers[-1] = part
                    history[-1] = _reply(view.answer_html(part))
                    continue
                preview = part if isinstance(part, Preview) else preview
                text += part if isinstance(part, str) else ""
                history[-1] = _reply(view.streaming_html(text, preview))
                yield "", history, answers, _update(), _update()
        except AssistantError as exc:
            history[-1] = _reply(view.error_html(exc.message, exc.hint or ""))
        except Exception:
            log.exception("answering %r failed", question[:200])
            history[-1] = _reply(view.unexpected_error_html())
        index = len(answers) - 1
        yield "", history, answers, _quote_pick(answers, index), index

    def new_conversation(self) -> tuple[Any, ...]:
        """Forget this session's conversation: the next question stands on its own."""
        empty = source_html(self.services, [], None)
        return [], [], _update(choices=[], value=None), None, empty, ""

    def select_message(self, answers: Answers, message: int | Sequence[int]) -> tuple[Any, int]:
        answer_index = _answer_index(message)
        return _quote_pick(answers, answer_index), answer_index

    def export(self, kind: str, answers: Answers, index: int | None) -> str | None:
        answer = _selected(answers, index)
        if answer is None:
            import gradio as gr

            gr.Warning(_("There is no answer to export yet."))
            return None
        stamp = (answer.created_at or "antwoord").replace(":", "").replace("-", "")[:15]
        path = self.exports / f"antwoord-{stamp}-{index}.{kind}"
        content = export_json(answer) if kind == "json" else export_markdown(answer)
        path.write_text(content, encoding="utf-8")
        return str(path)

    def like(
        self, answers: Answers, comment: str, message: int | Sequence[int], liked: bool
    ) -> str:
        answer = _selected(answers, _answer_index(message))
        if answer is None:
            return _("This message has no answer.")
        rating: Literal["up", "down"] = "up" if liked else "down"
        append_feedback(self.feedback_file, answer, rating, comment or "")
        if rating == "up":
            return _("Feedback saved (thumbs up).")
        return _("Feedback saved (thumbs down).")

    def send_comment(self, answers: Answers, index: int | None, comment: str) -> tuple[str, str]:
        answer = _selected(answers, index)
        if answer is None or not (comment or "").strip():
            return _("Choose an answer and write a comment."), comment
        append_feedback(self.feedback_file, answer, None, comment)
        return _("Comment saved."), ""

    def refresh(self) -> tuple[str, list[list[Any]], Any]:
        return (
            status_markdown(self.services),
            documents_rows(self.services),
            _update(choices=document_choices(self.services), value=None),
        )

    def upload(self, files: list[Any] | None) -> tuple[Any, ...]:
        from ingest.library import add_uploads

        if not files:
            return (_("Choose one or more files first."), *self.refresh())
        uploads = [(Path(getattr(f, "name", f)), getattr(f, "orig_name", None)) for f in files]
        services = self.services
        result = add_uploads(uploads, services.settings, services.embedder, services.index_lock)
        if result.index_changed:
            services.index_changed()
        return (upload_message(result), *self.refresh())

    def remove(self, document_id: str | None) -> tuple[Any, ...]:
        from ingest.library import remove_document

        if not document_id:
            return (_("Choose a document first."), *self.refresh())
        services = self.services
        try:
            removal = remove_document(
                document_id, services.settings, services.embedder, services.index_lock
            )
        except AssistantError as exc:
            return (view.error_line(exc), *self.refresh())
        services.index_changed()
        return (view.removal_line(removal.title, removal.kept_file), *self.refresh())

    def follow_model(self) -> tuple[str, Any]:
        """The status line while the model starts; the timer stops once it is ready or failed."""
        import gradio as gr

        services = self.services
        waiting = services.started_backend is None and services.backend_problem is None
        return status_markdown(services), gr.Timer(active=waiting)


# --- the layout, and which handler each event runs -----------------------------------------------
def build_ui(services: Services) -> Any:
    import gradio as gr

    from ingest.uploads import ALLOWED_SUFFIXES

    settings = services.settings
    handlers = Handlers(services)

    # The events whose arguments Gradio injects by annotation or default: thin adapters.
    def select_message(answers: Answers, event: gr.SelectData) -> Any:
        return handlers.select_message(answers, event.index)

    def like(answers: Answers, comment: str, event: gr.LikeData) -> str:
        return handlers.like(answers, comment, event.index, bool(event.liked))

    # Gradio injects the progress tracker through this default (its documented idiom); with
    # track_tqdm the ingest's own progress bars show in the browser.
    def upload(
        files: list[Any] | None,
        progress: Any = gr.Progress(track_tqdm=True),  # noqa: B008
    ) -> Any:
        return handlers.upload(files)

    with gr.Blocks(title="Beleidsassistent") as demo:
        gr.Markdown(
            "# Beleidsassistent\n"
            + _("Questions about policy documents, with quotes you can check.")
        )
        status = gr.Markdown(status_markdown(services), elem_id="status")
        answers = gr.State([])
        current = gr.State(None)
        with gr.Tab(_("Questions")), gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label=_("Conversation"),
                    elem_id="chat",
                    height=520,
                    render_markdown=False,
                    sanitize_html=True,
                    # Gradio's own values, shown as thumbs (not as text): not messages.
                    feedback_options=("Like", "Dislike"),
                    placeholder=_("Ask a question about the documents in the index."),
                )
                with gr.Row():
                    question = gr.Textbox(
                        label=_("Question"),
                        placeholder=_("For example: {question}").format(
                            question=QUESTION_EXAMPLES[0]
                        ),
                        elem_id="question",
                        scale=5,
                        max_lines=6,
                    )
                    send = gr.Button(_("Ask"), variant="primary", elem_id="send")
                fresh = gr.Button(_("New conversation"), size="sm", elem_id="new-conversation")
                gr.Examples(QUESTION_EXAMPLES, inputs=question, label=_("Examples"))
            with gr.Column(scale=2):
                quote_pick = gr.Dropdown(
                    label=_("Quote"), choices=[], elem_id="quote-pick", interactive=True
                )
                source = gr.HTML(source_html(services, [], None), elem_id="source")
                with gr.Row():
                    export_md = gr.Button(_("Export Markdown"), elem_id="export-md")
                    export_js = gr.Button(_("Export JSON"), elem_id="export-json")
                download = gr.File(label=_("Download"), elem_id="download", interactive=False)
                comment = gr.Textbox(
                    label=_("Comment on the chosen answer (optional)"),
                    elem_id="comment",
                    lines=2,
                )
                send_note = gr.Button(_("Send comment"), elem_id="send-comment")
                feedback_status = gr.Markdown(elem_id="feedback-status")
        with gr.Tab(_("Documents")):
            table = gr.Dataframe(
                value=documents_rows(services),
                headers=[_("Title"), _("File"), _("Passages"), _("Indexed"), _("Id")],
                datatype=["str", "str", "number", "str", "str"],
                interactive=False,
                elem_id="documents",
            )
            files = gr.File(
                label=_("Add documents ({types}; at most {size} MiB per file)").format(
                    types=", ".join(ALLOWED_SUFFIXES), size=f"{settings.max_file_mb:g}"
                ),
                file_count="multiple",
                file_types=list(ALLOWED_SUFFIXES),
                elem_id="upload",
            )
            add = gr.Button(_("Add to the index"), variant="primary", elem_id="add")
            with gr.Row():
                pick = gr.Dropdown(
                    label=_("Document"),
                    choices=document_choices(services),
                    elem_id="remove-pick",
                )
                drop = gr.Button(_("Remove from the index"), variant="stop", elem_id="remove")
            documents_status = gr.Markdown(elem_id="documents-status")

        ask_outputs = [question, chat, answers, quote_pick, current]
        for trigger in (send.click, question.submit):
            trigger(
                handlers.ask, [question, chat, answers], ask_outputs, concurrency_id="answer"
            ).then(lambda: status_markdown(services), None, status)
        fresh.click(
            handlers.new_conversation,
            None,
            [chat, answers, quote_pick, current, source, feedback_status],
        )
        chat.select(select_message, [answers], [quote_pick, current])
        quote_pick.change(lambda a, c: source_html(services, a, c), [answers, quote_pick], source)
        export_md.click(lambda a, i: handlers.export("md", a, i), [answers, current], download)
        export_js.click(lambda a, i: handlers.export("json", a, i), [answers, current], download)
        chat.like(like, [answers, comment], feedback_status)
        send_note.click(
            handlers.send_comment, [answers, current, comment], [feedback_status, comment]
        )
        index_outputs = [documents_status, status, table, pick]
        add.click(upload, [files], index_outputs, concurrency_limit=1, concurrency_id="index")
        drop.click(
            handlers.remove, [pick], index_outputs, concurrency_limit=1, concurrency_id="index"
        )
        demo.load(handlers.refresh, None, [status, table, pick])

        # While the model is starting (a remote Ollama may take its retries), the status line
        # follows it; the timer stops once the model is ready or has failed.
        starting = gr.Timer(2.0)
        starting.tick(handlers.follow_model, None, [status, starting], show_progress="hidden")
    demo.queue(default_concurrency_limit=settings.ui_concurrency)
    return demo


def ui_theme() -> Any:
    """Gradio's default look with local fonts: the default theme would fetch Google Fonts,
    which a machine without internet waits for."""
    import gradio as gr

    return gr.themes.Default(
        font=["system-ui", "Segoe UI", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )


def main(argv: list[str] | None = None, *, prog: str = "python app.py") -> int:
    # First, so that the help text is already in the configured language (.env too).
    activate_interface_language()
    command_parser(
        prog,
        _(
            "Serve the web interface for staff, by default on http://127.0.0.1:7860.\n"
            "ASSISTANT_UI_HOST and ASSISTANT_UI_PORT change the address;\n"
            "ASSISTANT_UI_USERS=name:password asks for a login."
        ),
        _(
            "examples:\n"
            "  {prog}\n"
            "  ASSISTANT_UI_PORT=8080 {prog}\n"
            "  ASSISTANT_UI_HOST=0.0.0.0 ASSISTANT_UI_USERS=anna:geheim {prog}\n"
            "\n"
            "Stop it with Ctrl-C. Uploads in the web interface are added to the index."
        ).format(prog=prog),
    ).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
        services = Services(settings)
    except AssistantError as exc:
        print(_("error: {error}").format(error=exc), file=sys.stderr)
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
        auth_message=_("Log in with the account the administrator gave you.")
        if credentials
        else None,
        max_file_size=f"{settings.max_file_mb:g}mb",
        show_error=False,
        footer_links=[],
        css=view.CSS,
        theme=ui_theme(),
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
    )
    return 0


def _exit(signum: int, frame: Any) -> None:
    log.info("stopping (signal %s)", signum)
    # A second SIGTERM (an impatient service manager) must not break off the exit handlers.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(0)


if __name__ == "__main__":
    sys.exit(main())
