"""The citation modes and the answer checks, on real corpus text (no model needed)."""

from __future__ import annotations

from pathlib import Path

from assistant.citations import NumberedSentences, VerbatimQuotes
from assistant.core.text import terms as _terms
from assistant.grounding import unsupported_figures as _unsupported_figures
from assistant.prompting import build_context
from assistant.quotes import NormalizedText
from assistant.types import Passage
from ingest.clean import clean_document
from ingest.load import load_document

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
DOC = clean_document(
    load_document(
        CORPUS / "2024-06-12-brief-eerste-kamer-een-jaar-actieagenda-sterk-bestuur.txt",
        max_bytes=2**26,
    )
).text


class _Docs:
    def normalized(self, document_id: str) -> NormalizedText:
        assert document_id == "brief"
        return NormalizedText(DOC)


def _context() -> tuple:  # type: ignore[type-arg]
    start = DOC.index("Een sterk bestuur is meer dan")
    text = DOC[start : start + 600]
    passage = Passage(
        text=text, document="brief", title="Brief", score=1.0, start=start, end=start + len(text)
    )
    return build_context((passage,), 2000), start


def test_verbatim_quotes_are_located_and_invented_ones_rejected() -> None:
    context, _start = _context()
    reply = {
        "quotes": [
            "Een sterk bestuur is ook dienstbaar, responsief,\ndemocratisch gelegitimeerd, "
            "voorspelbaar en realistisch.",
            "Een sterk bestuur is ook zuinig en snel.",
        ],
        "answer": "Een sterk bestuur is dienstbaar en responsief.",
    }
    evidence, rejected = VerbatimQuotes().evidence(reply, context, _Docs())
    assert len(evidence) == 1 and len(rejected) == 1
    assert DOC[evidence[0].start : evidence[0].end].startswith(
        "Een sterk bestuur is ook dienstbaar"
    )
    assert rejected[0].text == "Een sterk bestuur is ook zuinig en snel."


def test_sentence_ids_map_to_exact_spans_and_unknown_ids_are_rejected() -> None:
    context, _start = _context()
    evidence, rejected = NumberedSentences().evidence(
        {"sentence_ids": [2, 99, "S1"], "answer": "x"}, context, _Docs()
    )
    assert [r.text for r in rejected] == ["S99"]
    assert DOC[evidence[0].start : evidence[0].end] == context.sentence(2).text
    assert DOC[evidence[1].start : evidence[1].end] == context.sentence(1).text


def test_invented_figures_are_detected() -> None:
    sources = "In 2015 zijn de Participatiewet en de Wmo gedecentraliseerd; 1,5 miljard euro."
    assert _unsupported_figures("Het kabinet trekt € 100 miljoen uit in 2026.", sources) == [
        "100",
        "2026",
    ]
    assert _unsupported_figures("Sinds 2015, met 1.5 miljard.", sources) == []


def test_terms_are_stemmed_dutch_content_words() -> None:
    assert _terms("De gemeenten werken samen") == _terms("gemeente werken samen")
    assert "het" not in _terms("het kabinet")
