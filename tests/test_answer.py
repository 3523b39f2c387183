"""answer() end to end: the real corpus index, real hybrid retrieval and the real embedded 0.5B
model in its llama.cpp server (temperature 0 so runs repeat)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant.answering import Answerer
from assistant.components import build_assistant
from assistant.core.errors import IndexNotReadyError, QuestionError
from assistant.core.settings import Settings, load_settings
from assistant.documents import DocumentTexts
from assistant.index.manifest import read_document_text
from assistant.types import Answer, Preview
from tests.conftest import CORPUS, REPO, SMALL_MODEL, cli_env, only_segment

pytestmark = pytest.mark.slow


def _assert_quotes_are_verbatim(answer: Answer, settings: Settings) -> None:
    for quote in answer.quotes:
        stored = read_document_text(settings.index_dir / "documents", quote.document)
        assert stored.text.text[quote.start : quote.end] == quote.text
        # ... and the words stand, in this order, in the original file too.
        original = " ".join((CORPUS / stored.source.rsplit("/", 1)[-1]).read_text().split())
        words = quote.text.split()
        assert " ".join(words[:6]) in original or " ".join(words[-6:]) in original


def test_questions_are_answered_with_verified_quotes(
    assistant: Answerer, small_settings: Settings
) -> None:
    questions = [
        "Wordt AI gebruikt bij gegevensdeling voor de loketfunctie van de overheid?",
        "Welke drie hardnekkige fouten constateert de ROB in de publieke dienstverlening?",
        "Op welke datum stuurde de minister de kabinetsreactie op 'De uitvoering aan zet'?",
    ]
    answers = [assistant.answer(q) for q in questions]
    answered = [a for a in answers if not a.refused]
    assert answered, [(a.refusal_reason, a.notes) for a in answers]
    for answer in answers:
        _assert_quotes_are_verbatim(answer, small_settings)
        assert answer.backend == "embedded" and answer.model == "qwen2.5-coder-0.5b"
        assert answer.settings_hash == small_settings.hash()
        assert answer.timings.total >= answer.timings.llm > 0
        assert answer.prompt_tokens > 100 and answer.completion_tokens > 0
        assert answer.passages
        json.dumps(answer.to_dict())
    for answer in answered:
        assert answer.quotes and answer.text and answer.refusal_reason is None


def test_unanswerable_question_is_refused(assistant: Answerer) -> None:
    answer = assistant.answer("Hoeveel geld trekt het kabinet uit voor de Omgevingswet in 2026?")
    assert answer.refused, (answer.text, answer.quotes)
    assert not answer.quotes
    assert answer.text.startswith("Dit staat niet in de beschikbare documenten")
    assert answer.passages  # shown as "possibly relevant"
    assert answer.refusal_reason


def test_streaming_yields_text_then_the_final_answer(assistant: Answerer) -> None:
    items = list(
        assistant.stream_answer("Wat constateert de ROB over de publieke dienstverlening?")
    )
    final = items[-1]
    assert isinstance(final, Answer)
    deltas = [i for i in items[:-1] if isinstance(i, str)]
    assert len(items) == len(deltas) + 1
    if not final.refused:
        assert len(deltas) > 1 and "".join(deltas).strip() == final.text


def test_the_best_sentences_come_first_and_are_verified(assistant: Answerer) -> None:
    stream = assistant.stream_answer(
        "Welke drie hardnekkige fouten constateert de ROB?", preview=True
    )
    first = next(stream)
    assert isinstance(first, Preview) and first.quotes  # before the model wrote a word
    assert all(q.source_start is not None for q in first.quotes)  # proved against the file
    rest = list(stream)
    assert isinstance(rest[-1], Answer) and not any(isinstance(i, Preview) for i in rest)


def test_broken_model_output_is_retried_then_refused(
    small_settings: Settings, embedder: Any, assistant: Answerer
) -> None:
    # Too few tokens to close the JSON: a real truncated reply, not a simulated one.
    settings = load_settings(**{**small_settings.model_dump(), "llm_max_tokens": 16})
    built = build_assistant(settings, embedder=embedder)
    try:
        answer = built.answer("Wat constateert de ROB over de publieke dienstverlening?")
    finally:
        built.backend.server.stop()
    assert answer.refused and answer.refusal_reason == "the model did not return valid JSON"
    assert any("attempt 2" in note for note in answer.notes)


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("Wat\x00is dit?", "control characters"),
        ("woord " * 400, "too long"),
    ],
)
def test_bad_questions_get_a_clear_error(assistant: Answerer, question: str, message: str) -> None:
    with pytest.raises(QuestionError, match=message):
        assistant.answer(question)


def test_retrieve_returns_ranked_passages_with_offsets(
    assistant: Answerer, small_settings: Settings
) -> None:
    passages = assistant.retrieve("gegevensdeling loketfunctie AI", k=3)
    assert 1 <= len(passages) <= 3
    assert passages[0].score >= passages[-1].score
    for passage in passages:
        stored = read_document_text(small_settings.index_dir / "documents", passage.document)
        assert stored.text.text[passage.start : passage.end] == passage.text


def test_empty_index_says_run_ingest_first(make_settings: Any) -> None:
    with pytest.raises(IndexNotReadyError, match="python -m ingest"):
        build_assistant(make_settings(**SMALL_MODEL))


def test_cli_prints_json_provenance(small_settings: Settings) -> None:
    env = cli_env(small_settings)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant",
            "ask",
            "--json",
            "Wordt AI gebruikt bij gegevensdeling voor de loketfunctie?",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {
        "text",
        "refused",
        "quotes",
        "rejected_quotes",
        "passages",
        "model",
        "backend",
        "prompt_version",
        "settings_hash",
        "timings",
    } <= set(data)
    assert data["backend"] == "embedded"


def test_public_functions_are_not_shadowed_by_modules() -> None:
    import assistant
    import assistant.components  # imports every submodule of the package

    assert callable(assistant.answer) and callable(assistant.retrieve)
    assert callable(assistant.stream_answer)


def test_document_texts_follow_the_index_and_stay_pinned_for_an_answer(
    corpus_index: tuple[Settings, Any], tmp_path: Path
) -> None:
    """What an answer verifies against is the version it read, while an ingest replaces or
    removes documents; the next answer reads the new versions."""
    folder = tmp_path / "documents"
    shutil.copytree(corpus_index[0].index_dir / "documents", folder)
    texts = DocumentTexts(folder)
    first, second = sorted(p.stem for p in folder.glob("*.json"))[:2]
    pinned, missing = texts.pin({first, second})
    assert not missing
    old = pinned.get(first).text.text

    path = folder / f"{first}.json"  # what an ingest of a changed file does ...
    data = json.loads(path.read_text(encoding="utf-8"))
    data["text"] = "Nieuwe eerste zin. " + data["text"]
    path.write_text(json.dumps(data), encoding="utf-8")
    (folder / f"{second}.json").unlink()  # ... and of a removed one

    assert pinned.get(first).text.text == old
    assert texts.get(first).text.text.startswith("Nieuwe eerste zin.")
    again, missing = texts.pin({first, second})
    assert missing == {second}
    assert again.get(first).text.text.startswith("Nieuwe eerste zin.")


@pytest.mark.parametrize("damaged", ["data.csc.index.npy", "corpus.jsonl", "vocab.index.json"])
def test_half_written_bm25_is_detected_and_rebuilt_from_chroma(
    corpus_index: tuple[Settings, Any],
    tmp_path: Path,
    embedder: Any,
    assistant: Answerer,
    damaged: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A BM25 file cut off half-way (a crash or a full disk while it was written, fingerprint
    intact): the assistant notices, says so in the log, rebuilds it from Chroma and answers."""
    settings = load_settings(
        data_dir=tmp_path / "data",
        corpus_dir=CORPUS,
        model_cache_dir=corpus_index[0].model_cache_dir,
        **SMALL_MODEL,
    )
    shutil.copytree(corpus_index[0].index_dir, settings.index_dir)
    path = only_segment(settings.index_dir / "bm25") / damaged
    intact = path.read_bytes()
    path.write_bytes(intact[: len(intact) // 2])

    with caplog.at_level("WARNING"):
        rebuilt = build_assistant(settings, embedder=embedder, backend=assistant.backend)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "damaged" in logged and "rebuilding" in logged
    # Rebuilt to the same bytes from Chroma (in a new segment folder).
    assert (only_segment(settings.index_dir / "bm25") / damaged).read_bytes() == intact
    passages = rebuilt.retrieve("Wat constateert de ROB over de publieke dienstverlening?")
    assert passages and any("ROB" in p.text or "Raad" in p.text for p in passages)
