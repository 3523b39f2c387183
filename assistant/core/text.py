"""Text analysis shared by every stage: token counts, Dutch sentences, Dutch stems and stopwords.

BM25 (``assistant/index/bm25.py``) indexes Dutch Snowball stems without Dutch stopwords, and the
grounding check (``assistant/grounding.py``) asks BM25 how frequent a question's stems are, so
both must stem the same way: they take their stemmer and stopwords from here. Chunk sizes
(``ingest/chunk.py``) and prompt budgets (``assistant/prompting.py``) count the same tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

#: tiktoken's encoding for chunk sizes and prompt budgets.
TOKEN_ENCODING = "cl100k_base"
#: PyStemmer's name of the Snowball stemmer BM25 and the grounding check use.
STEMMER_LANGUAGE = "dutch"
#: bm25s's name of its Dutch stopword list (``STOPWORDS_DUTCH``).
BM25_STOPWORDS = "nl"

#: A content word for :func:`terms`: three or more letters, no digits.
_WORD = re.compile(r"[^\W\d_]{3,}")
_LATIN_WORD = re.compile(r"[a-zA-Z']+")


@cache
def token_counter() -> Callable[[str], list[int]]:
    """tiktoken's encoder used for chunk sizes and prompt budgets."""
    import tiktoken

    return tiktoken.get_encoding(TOKEN_ENCODING).encode


def count_tokens(text: str) -> int:
    return len(token_counter()(text))


@cache
def _punkt() -> Any:
    from nltk.tokenize import PunktTokenizer

    return PunktTokenizer("dutch")


@cache
def dutch_sentences() -> Callable[[str], list[str]]:
    """Split text into sentences with NLTK's Dutch Punkt model (llama-index's splitter form)."""
    from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer_internal

    def split(text: str) -> list[str]:
        return split_by_sentence_tokenizer_internal(text, _punkt())

    return split


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text`` (Dutch Punkt model), in order."""
    return [(int(a), int(b)) for a, b in _punkt().span_tokenize(text)]


def new_stemmer() -> Any:
    """A fresh Dutch Snowball stemmer (PyStemmer); BM25 keeps one per index object."""
    import Stemmer

    return Stemmer.Stemmer(STEMMER_LANGUAGE)


@cache
def stopwords() -> tuple[frozenset[str], frozenset[str]]:
    """bm25s's Dutch and English stopword lists."""
    from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN

    return frozenset(STOPWORDS_DUTCH), frozenset(STOPWORDS_EN)


@cache
def _shared_stemmer() -> Any:
    return new_stemmer()


def stem_words(words: list[str]) -> list[str]:
    """Dutch Snowball stems of ``words`` (the stems BM25 indexes)."""
    return list(_shared_stemmer().stemWords(words))


def terms(text: str) -> set[str]:
    """Stemmed content words of a text (Dutch stemmer; stopwords of Dutch and English out)."""
    dutch, english = stopwords()
    words = [w.lower() for w in _WORD.findall(text)]
    return set(stem_words([w for w in words if w not in dutch and w not in english]))


def detect_language(text: str) -> str:
    """``nl`` or ``en``, by which language's function words the text uses more (default nl)."""
    return clear_language(text) or "nl"


def clear_language(text: str) -> str | None:
    """``nl`` or ``en`` when one language's function words outnumber the other's; None when
    the text does not tell ("Why?", "Hoeveel?")."""
    words = _LATIN_WORD.findall(text.lower())
    dutch, english = stopwords()
    nl = sum(w in dutch for w in words)
    en = sum(w in english for w in words)
    return "en" if en > nl else "nl" if nl > en else None
