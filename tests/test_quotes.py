from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from assistant.quotes import NormalizedText, locate, normalize_quote

DOC = (
    "Het kabinet is de raad zeer erkentelijk voor het advies.\n\nHet advies van de ROB richt "
    "zich op “iedereen in het openbaar bestuur”. Iedereen staat wat te doen,  schrijft de Raad.\n"
    "De actieagenda focust op het samenspel tussen overheden."
)
TEXT = NormalizedText(DOC)


def _slice(quote: str) -> str | None:
    span = locate(quote, TEXT)
    return None if span is None else DOC[span.start : span.end]


def test_exact_quote_is_found_with_offsets() -> None:
    quote = "De actieagenda focust op het samenspel tussen overheden."
    span = locate(quote, TEXT)
    assert span is not None and DOC[span.start : span.end] == quote


def test_whitespace_and_quote_mark_variants_are_accepted() -> None:
    assert _slice('richt zich op "iedereen in het openbaar bestuur"') == (
        "richt zich op “iedereen in het openbaar bestuur”"
    )
    assert _slice("Iedereen staat wat te doen, schrijft de Raad.") == (
        "Iedereen staat wat te doen,  schrijft de Raad."
    )
    assert _slice("voor het advies. Het advies van de ROB") == (
        "voor het advies.\n\nHet advies van de ROB"
    )


def test_wrapping_quote_marks_added_by_a_model_are_tolerated() -> None:
    assert _slice("“De actieagenda focust op het samenspel tussen overheden.”") == (
        "De actieagenda focust op het samenspel tussen overheden."
    )


def test_changed_word_stitched_quote_other_document_and_short_quote_are_rejected() -> None:
    assert locate("De actieagenda focust op het samenspel tussen gemeenten.", TEXT) is None
    assert locate("Het kabinet is de raad zeer erkentelijk ... tussen overheden.", TEXT) is None
    assert locate("Het kabinet is de raad zeer erkentelijk voor het samenspel.", TEXT) is None
    assert locate("Een sterk bestuur is meer dan alleen resultaatgericht.", TEXT) is None
    assert locate("het advies", TEXT) is None  # too short to be evidence
    assert locate("de actieagenda focust op het samenspel", TEXT) is None  # case matters


def test_nearest_occurrence_is_chosen() -> None:
    text = "Het Rijk en de gemeenten werken samen. " * 3
    normalized = NormalizedText(text)
    span = locate("Het Rijk en de gemeenten werken samen.", normalized, near=len(text) - 5)
    assert span is not None and span.start == 2 * len("Het Rijk en de gemeenten werken samen. ")


_doc_text = st.text(
    alphabet=st.sampled_from(list("abcdeklmnoprstu ABC.,'’“”\"\n\t")), min_size=40, max_size=400
)


@settings(max_examples=300, deadline=None)
@given(_doc_text, st.data())
def test_any_slice_of_the_document_is_found_and_slices_back(doc: str, data: st.DataObject) -> None:
    # Slices of 30+ characters: shorter ones are mostly too short to count as quotes, and
    # discarding them made hypothesis's filter health check fail now and then.
    length = data.draw(st.integers(30, len(doc)))
    start = data.draw(st.integers(0, len(doc) - length))
    quote = doc[start : start + length]
    assume(len(normalize_quote(quote)) >= 12)
    span = locate(quote, NormalizedText(doc))
    assert span is not None
    # The offsets slice back to a text that is the quote up to whitespace and quote marks.
    assert normalize_quote(doc[span.start : span.end]) == normalize_quote(quote)


@settings(max_examples=300, deadline=None)
@given(_doc_text, st.text(min_size=12, max_size=60))
def test_never_accepts_text_that_is_not_in_the_document(doc: str, quote: str) -> None:
    span = locate(quote, NormalizedText(doc))
    if span is not None:
        assert normalize_quote(doc[span.start : span.end]) in {
            normalize_quote(quote),
            normalize_quote(quote.strip("\"'“”‘’„«» ")),
        }
        assert normalize_quote(quote.strip("\"'“”‘’„«» ")) in normalize_quote(doc)


def test_quotes_are_widened_to_whole_words() -> None:
    from assistant.quotes import Span, snap_to_words

    text = "Het advies stelt dat we nu daadwerkelijk in actie moeten komen."
    cut = text.index("in actie") + len("in ac")
    span = snap_to_words(text, Span(text.index("advies") + 2, cut))
    assert text[span.start : span.end] == "advies stelt dat we nu daadwerkelijk in actie"
    whole = Span(0, len(text))
    assert snap_to_words(text, whole) == whole
