"""The embedded model server SIGKILLed in the middle of an answer (a real kill of the real
llama.cpp process): that answer ends in a clear error, the next question restarts the server
and is answered."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from assistant.components import build_assistant
from assistant.errors import BackendError
from assistant.settings import Settings
from ingest.manifest import read_document_text

pytestmark = pytest.mark.slow

STREAMED = "Wordt AI gebruikt bij gegevensdeling voor de loketfunctie van de overheid?"


def test_model_server_killed_mid_answer_then_the_next_question_works(
    small_settings: Settings, embedder: Any
) -> None:
    assistant = build_assistant(small_settings, embedder=embedder)  # its own server to kill
    server = assistant.backend.server
    try:
        stream = assistant.stream_answer(STREAMED)
        assert isinstance(next(stream), str)  # text is streaming: the server is mid-answer
        killed = server.pid
        os.kill(killed, signal.SIGKILL)
        with pytest.raises(BackendError) as err:
            list(stream)
        assert "embedded model server failed" in err.value.message
        assert err.value.hint and "Ask again" in err.value.hint

        answer = assistant.answer(STREAMED)
        assert server.pid not in (None, killed)  # restarted on demand
        assert not answer.refused and answer.quotes
        for quote in answer.quotes:
            stored = read_document_text(small_settings.index_dir / "documents", quote.document)
            assert stored.text.text[quote.start : quote.end] == quote.text
    finally:
        server.stop()
