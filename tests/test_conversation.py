"""Follow-up questions: the trigger decided in code, the bounded conversation, and the real 0.5B
model end to end (the follow-up is rewritten, answered from the documents, quotes verified)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.conversation import answer_only_terms, conversation_text
from assistant.core.text import count_tokens, terms
from assistant.index.manifest import read_document_text
from assistant.types import Answer, Quote
from evals.reference import load_items
from tests.answers import made_answer
from tests.conftest import cli_env

REPO = Path(__file__).resolve().parents[1]

FOLLOW_UPS = [
    "Hoe reageert het kabinet daarop?",
    "Wanneer is dat gepubliceerd?",
    "En de ROB?",
    "Wie voert die uit?",
    "Wat houdt dit in?",
    "Wat zegt de ROB daarover?",
    "Wat vindt het kabinet van haar advies?",
    "Is dat al besloten?",
    "Waarom?",
    "What does that mean?",
    "When was it published?",
    "And what about the ROB?",
    "What did they recommend?",
]
STANDALONE = [
    "Wat is de hoofdaanbeveling van de Rli in het advies De uitvoering aan zet?",
    "Wat is de UDO, sinds wanneer wordt die gebruikt en hoeveel ervaring is ermee opgedaan?",
    "Hoe wil het kabinet ervoor zorgen dat gemeenten beter worden gehoord?",
    "Hoe kan een gemeente die in de beginfase van huizenbouwprojecten handen tekortkomt "
    "tijdelijk extra mensen krijgen?",
    "Who organised the dialogue series on speaking up as a civil servant, and what is its aim?",
]


def _turn(question: str, text: str, **changes: Any) -> Answer:
    """An earlier turn of a conversation, as the API returned it (the history is data)."""
    return made_answer(question, text, **changes)


EARLIER = [
    _turn("Wat is de hoofdaanbeveling van de Rli?", "Maak beleid en uitvoering gelijkwaardig.")
]


@pytest.mark.parametrize("question", FOLLOW_UPS)
def test_a_question_that_leans_on_the_conversation_is_rewritten(
    assistant: Any, question: str
) -> None:
    assert assistant.is_follow_up(question, EARLIER)
    assert not assistant.is_follow_up(question, [])  # no conversation, nothing to lean on


@pytest.mark.parametrize("question", STANDALONE)
def test_a_standalone_question_pays_nothing(assistant: Any, question: str) -> None:
    assert not assistant.is_follow_up(question, EARLIER)


def test_how_often_the_rewrite_runs_on_standalone_and_on_follow_up_questions(
    assistant: Any,
) -> None:
    standalone = [item.question for item in load_items()]
    rewritten = [q for q in standalone if assistant.is_follow_up(q, EARLIER)]
    print(f"rewrite on standalone reference questions: {len(rewritten)}/{len(standalone)}")
    assert len(rewritten) / len(standalone) <= 0.05, rewritten
    follow_ups = [
        turn["question"]
        for line in (REPO / "evals" / "conversations.jsonl").read_text("utf-8").splitlines()
        if line.strip() and (conversation := json.loads(line))["kind"] != "switch_topic"
        for turn in conversation["turns"][1:]
    ]
    caught = [q for q in follow_ups if assistant.is_follow_up(q, EARLIER)]
    print(f"rewrite on follow-up questions of the conversations: {len(caught)}/{len(follow_ups)}")
    assert len(caught) / len(follow_ups) >= 0.8, set(follow_ups) - set(caught)


def _quote(text: str) -> Quote:
    return Quote(text=text, document="d.md", title="D", page=None, start=0, end=len(text))


def test_the_rewrite_sees_the_last_turns_within_its_budget() -> None:
    history = [
        _turn(
            f"Vraag {n} over de Actieagenda Sterk Bestuur?",
            "Het model zegt iets. " * 50,
            quotes=(_quote("Een zin uit het document. " * 40),),
        )
        for n in range(50)
    ]
    history.append(_turn("Wat zegt de ROB?", "niets", refused=True))
    text = conversation_text(history, budget_tokens=300, answer_words=40)
    assert count_tokens(text) <= 300 + 20
    assert text.endswith(
        "Vraag: Wat zegt de ROB?\nUit de documenten: (niet gevonden in de documenten)"
    )
    # The earlier turns show their verified quotes, never the model's own words.
    assert "Een zin uit het document." in text and "Het model zegt" not in text
    assert "Vraag 49 " in text and "Vraag 0 " not in text  # the last turns, oldest first
    assert text.index("Vraag 48 ") < text.index("Vraag 49 ")
    # An earlier answer is shortened: the rewrite only needs to know what was talked about.
    assert all(len(part.split()) <= 60 for part in text.split("\n\n"))


def test_words_only_an_earlier_answer_holds_are_caught_in_a_rewrite() -> None:
    earlier = _turn(
        "Hoe werkt het escalatiemodel Route 35?",
        "Route 35 wordt geleid door de Nationale Coördinator, met een noodrem.",
        quotes=(_quote("Route 35 is een escalatiemodel voor de regionale energiestrategieën."),),
    )
    question = "Wie voert dat uit?"
    # From the typed questions and the verified quote: nothing to catch.
    assert not answer_only_terms(
        "Wie voert het escalatiemodel Route 35 voor de energiestrategieën uit?",
        question,
        [earlier],
    )
    # "Nationale Coördinator" and "noodrem" stand only in the model's own answer text.
    caught = answer_only_terms(
        "Wie voert de noodrem van de Nationale Coördinator in Route 35 uit?", question, [earlier]
    )
    assert caught == terms("noodrem Nationale Coördinator"), caught


@pytest.mark.slow
def test_a_follow_up_is_answered_from_the_documents_because_of_the_first_turn(
    assistant: Any, small_settings: Any
) -> None:
    first = assistant.answer(
        "Wat is de hoofdaanbeveling van de Rli in het advies De uitvoering aan zet?"
    )
    follow_up = assistant.answer("Hoe reageert het kabinet daarop?", history=[first])
    assert follow_up.standalone_question, follow_up.notes
    assert follow_up.question == "Hoe reageert het kabinet daarop?"
    understood = follow_up.standalone_question.lower()
    assert "rli" in understood or "aanbeveling" in understood or "uitvoering" in understood
    assert follow_up.to_dict()["standalone_question"] == follow_up.standalone_question
    assert follow_up.timings.rewrite > 0
    # Quotes still come from the documents, verified there, never from the earlier answer.
    for quote in follow_up.quotes:
        stored = read_document_text(small_settings.index_dir / "documents", quote.document)
        assert stored.text.text[quote.start : quote.end] == quote.text
    alone = assistant.answer("Hoe reageert het kabinet daarop?")
    assert alone.standalone_question is None and alone.timings.rewrite == 0


@pytest.mark.slow
def test_a_follow_up_outside_the_documents_is_refused(assistant: Any) -> None:
    history = [
        _turn(
            "Wat adviseert de ROB over de uitvoerende macht?",
            "De ROB adviseert de uitvoering een sterkere positie te geven.",
        )
    ]
    # The same question on its own is refused (nothing in the documents is about an office in
    # Assen); as a follow-up it must be refused just as well: the conversation adds no source.
    follow_up = "En hoeveel kost het nieuwe kantoor in Assen daarvoor?"
    answer = assistant.answer(follow_up, history=history)
    assert answer.standalone_question, answer.notes
    assert answer.refused, answer.text
    assert not answer.quotes


@pytest.mark.slow
def test_a_long_conversation_is_answered_within_the_normal_budget(
    assistant: Any, small_settings: Any
) -> None:
    history = [
        _turn(f"Wat staat er in de brief over punt {n}?", "Een lang antwoord. " * 300)
        for n in range(50)
    ]
    history.append(_turn("Wat is de Actieagenda Sterk Bestuur?", "Een agenda van het kabinet."))
    answer = assistant.answer("Wie voert die uit?", history=history)
    # Unbounded, the 51 turns would be some 20,000 tokens. Bounded: the rewrite's share
    # (history budget, instructions, question) and the answer prompt, twice if the answer
    # needed its repair round.
    rewrite_budget = small_settings.history_budget_tokens + 300
    assert answer.prompt_tokens <= 2 * 1200 + rewrite_budget, answer.prompt_tokens
    assert answer.timings.rewrite > 0 and answer.text


class _Replies:
    """A model whose rewrite is given (the faults below the real small model makes only by
    chance, so they are produced here): it always replies ``reply``."""

    def __init__(self, reply: str = "Waarom kost de kazerne 40 miljoen euro?") -> None:
        self.reply = reply

    def stream_json(self, messages: Any, schema: Any) -> Any:
        from assistant.llm.backends import StreamChunk

        yield StreamChunk(json.dumps({"question": self.reply}), 50, 12)


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("Het kabinet neemt de hoofdaanbeveling ter harte.", "no question"),  # it answered
        ("Aan wie was de brief precies gericht?", "back as typed"),  # "die" -> "de" only
        ("Wat is de hoofdaanbeveling van de Rli?", "dropped what the follow-up asks"),
        ("To whom was the letter addressed exactly?", "changed the language"),
        # "secretarissen-generaal" stands only in the earlier answer's own text, no quote.
        (
            "Aan wie was de brief van de secretarissen-generaal precies gericht?",
            "only an earlier answer holds",
        ),
    ],
)
def test_a_rewrite_that_is_no_standalone_question_gives_way_to_the_typed_questions(
    reply: str, why: str
) -> None:
    from assistant.conversation import rewrite

    history = [
        _turn("Wat is de hoofdaanbeveling van de Rli?", "Maak beleid en uitvoering gelijkwaardig."),
        _turn("Welke brief noemt het kabinet?", "De brief van de secretarissen-generaal."),
    ]
    typed = "Aan wie was die brief precies gericht?"
    done = rewrite(_Replies(reply), typed, history, budget_tokens=300, answer_words=40)  # type: ignore[arg-type]
    assert done.note and why in done.note
    # Flat, and only what the user typed: never an earlier answer or rewrite.
    assert done.question == (
        f"{typed} (naar aanleiding van: Wat is de hoofdaanbeveling van de Rli? / "
        "Welke brief noemt het kabinet?)"
    )


def test_a_rewrite_that_brings_a_figure_from_an_earlier_answer_is_not_used() -> None:
    from assistant.conversation import rewrite

    said = "De kazerne kost 40 miljoen euro."
    history = [_turn("Wat kost de kazerne?", said, quotes=(_quote(said),))]
    done = rewrite(_Replies(), "Waarom zo duur?", history, budget_tokens=300, answer_words=40)  # type: ignore[arg-type]
    # Not used; the follow-up is joined to the question before it (the user's own words).
    assert done.question == "Waarom zo duur? (naar aanleiding van: Wat kost de kazerne?)"
    assert done.note and "earlier answer" in done.note
    kept = rewrite(
        _Replies(), "Waarom kost het 40 miljoen?", history, budget_tokens=300, answer_words=40
    )  # type: ignore[arg-type]
    assert kept.question == "Waarom kost de kazerne 40 miljoen euro?"


@pytest.mark.slow
def test_the_terminal_chat_understands_a_follow_up(small_settings: Any) -> None:
    import subprocess
    import sys

    env = {**cli_env(small_settings), "ASSISTANT_INTERFACE_LANGUAGE": "nl"}  # the Dutch chat
    typed = "Wat is de Actieagenda Sterk Bestuur?\nWie voert die uit?\nnieuw\nstop\n"
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "chat"],
        cwd=REPO,
        env=env,
        input=typed,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("vraag> ") == 4 and "Nieuw gesprek." in out
    assert out.count("Opgevat als: ") == 1  # the follow-up only, not the first question
    assert "herschrijven" in out  # its timings name the rewrite
    assert "Bronnen (letterlijk, gecontroleerd):" in out or "Mogelijk relevante passages:" in out
