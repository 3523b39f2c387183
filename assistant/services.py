"""The web UI's composition root: settings, embedder, model backend and the assistant over the
current index, built once and shared by every browser session (``app.py`` wires the UI to it)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.core.errors import AssistantError
from assistant.core.settings import Settings
from assistant.index.layout import IndexLayout
from assistant.index.manifest import Manifest

if TYPE_CHECKING:
    from assistant.answering import Answerer
    from assistant.llm.backends import LLMBackend

log = logging.getLogger("app")


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
        self._answerer: Answerer | None = None
        self._answered_version: tuple[tuple[int, int] | None, ...] | None = None
        self._backend: LLMBackend | None = None
        self.backend_problem: Problem | None = None
        self.index_lock = threading.Lock()  # uploads and removals, one at a time

    @property
    def started_backend(self) -> LLMBackend | None:
        """The model backend once built (None while it starts or when it failed)."""
        return self._backend

    def backend(self) -> LLMBackend:
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

    def answerer(self) -> Answerer:
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

    def manifest(self) -> Manifest:
        return Manifest.load(IndexLayout(self.settings.index_dir).manifest)
