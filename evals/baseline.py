"""The baseline: what a user gets from plain llama-index defaults, with our embedder and model.

``SimpleDirectoryReader`` over the corpus folder, ``VectorStoreIndex`` with the default chunking
(1024 tokens, 200 overlap) in llama-index's in-memory store, and ``CitationQueryEngine`` with its
defaults (top 2 chunks, re-split into 512-token numbered sources, English citation prompt). The
same embedding model and the same language model (the assistant's own model server) answer.

Scored by the same code as the assistant (``evals.runner``), with these translations:

- quotes: the numbered sources the answer cites (``[n]``), each counted as one shown quote;
  valid when it stands in the document file (modulo whitespace; ``evals/sourcecheck.py``);
- a retrieved or cited chunk "holds" a reference quote when it overlaps the reference span in the
  clean text, or when the reference quote stands inside the chunk;
- refused: the answer says in so many words that the sources do not tell (``REFUSAL``) —
  CitationQueryEngine has no refusal of its own. An answer that cites nothing is an answer
  without quotes (its key facts count; it cannot be grounded).
- a citation is any bracketed source number, as models write them: ``[2]``, ``[1, 3]``,
  ``[Source 2]``, ``(Source 2, paragraph 1)``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from assistant.core.settings import Settings
from assistant.index.embed import build_embedder
from assistant.quotes import NormalizedText, locate
from evals.metrics import SourceSpan
from evals.reference import Item, corpus_text, reference_spans
from evals.runner import Outcome
from evals.sourcecheck import stands_in_file

LABEL = "llama-index baseline"

#: A bracketed citation as the model writes it: [2], [1, 3], [Source 2], (Source 2, paragraph 1).
_CITATION = re.compile(
    r"[\[(]\s*(?:sources?|bronn?e?n?)?\s*(\d+(?:\s*(?:,|and|en|&)\s*(?:sources?\s*)?\d+)*)", re.I
)
_SOURCE_PREFIX = re.compile(r"^Source \d+:\n")
#: Phrases with which a model says the sources do not answer the question (English, as the
#: default prompt is, and Dutch, as the questions mostly are).
REFUSAL = re.compile(
    r"(none of the (provided )?sources|(do|does) not (contain|provide|mention|include|specify)"
    r"|no (information|mention)|not (mentioned|specified|provided|stated)|cannot (be )?answer"
    r"|niet (vermeld|genoemd|beschreven|gespecificeerd|te beantwoorden)|geen informatie"
    r"|bevatten geen|kan (ik )?(deze vraag )?niet)",
    re.IGNORECASE,
)


def cited_sources(text: str) -> list[int]:
    """The source numbers an answer cites, in order, each once."""
    numbers: list[int] = []
    for group in _CITATION.findall(text):
        for number in re.findall(r"\d+", group):
            if int(number) not in numbers:
                numbers.append(int(number))
    return numbers


class Baseline:
    """``CitationQueryEngine`` over a default ``VectorStoreIndex`` of ``settings.corpus_dir``."""

    def __init__(self, settings: Settings) -> None:
        from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
        from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
        from llama_index.core.query_engine import CitationQueryEngine

        import assistant

        self._settings = settings
        backend = assistant.default_assistant(settings).backend
        self._model, self._backend = backend.model, backend.name
        # A copy of the assistant's chat model (the same server), with a token counter: it
        # reads the server's usage figures from each response.
        self._tokens = TokenCountingHandler()
        llm = backend.llm.model_copy()
        documents = SimpleDirectoryReader(str(settings.corpus_dir)).load_data()
        self.index = VectorStoreIndex.from_documents(
            documents, embed_model=build_embedder(settings)
        )
        self._engine = CitationQueryEngine.from_args(self.index, llm=llm)
        # The response synthesizer gives the model llama-index's global callback manager; ours
        # goes on afterwards (the same model object) so that no global setting changes.
        llm.callback_manager = CallbackManager([self._tokens])
        self.llm = llm
        self._raw: dict[str, NormalizedText] = {}

    def __call__(self, item: Item) -> Outcome:
        from llama_index.core.schema import QueryBundle

        self._tokens.reset_counts()
        started = time.perf_counter()
        query = QueryBundle(item.question)
        retrieved = self._engine.retrieve(query)
        retrieved_at = time.perf_counter()
        response = self._engine.synthesize(query, retrieved)
        finished = time.perf_counter()
        return self.outcome(
            item,
            retrieved,
            str(getattr(response, "response", "") or "").strip(),
            response.source_nodes,
            timings={
                "retrieve": retrieved_at - started,
                "llm": finished - retrieved_at,
                "total": finished - started,
            },
            tokens=(self._tokens.prompt_llm_token_count, self._tokens.completion_llm_token_count),
        )

    def rescore(self, item: Item, saved: dict[str, Any]) -> Outcome:
        """Score an answer the baseline gave earlier (an item of its ``results.json``) again,
        without asking the model: retrieval and the numbered sources are deterministic, so they
        are rebuilt; the answer, timings and tokens are the saved ones."""
        from llama_index.core.schema import QueryBundle

        retrieved = self._engine.retrieve(QueryBundle(item.question))
        # The same numbered sources synthesize() gave the model (a private helper of the engine:
        # re-implementing its splitting could drift from it).
        sources = self._engine._create_citation_nodes(retrieved)
        return self.outcome(
            item,
            retrieved,
            saved["answer"] or "",
            sources,
            timings=saved["timings"],
            tokens=(saved["prompt_tokens"], saved["completion_tokens"]),
        )

    @property
    def tokens(self) -> Any:
        """The token counter on the baseline's model (reset it before a call)."""
        return self._tokens

    def outcome(
        self,
        item: Item,
        retrieved: list[Any],
        text: str,
        sources: list[Any],
        *,
        timings: dict[str, float | None],
        tokens: tuple[int, int],
        cited: list[int] | None = None,
    ) -> Outcome:
        """Score a llama-index answer: ``sources`` are the numbered sources it was given,
        ``cited`` the numbers it shows (default: the ``[n]`` citations in ``text``)."""
        references = reference_spans(item, self._settings.corpus_dir)
        rank = None
        if item.answerable:
            for position, hit in enumerate(retrieved, start=1):
                if self._holds(hit.node, hit.node.get_content(), references):
                    rank = position
                    break
        quotes = []
        valid = 0
        holds = False
        for number in cited_sources(text) if cited is None else cited:
            if not 1 <= number <= len(sources):
                continue  # a citation of a source that was not given: nothing to show
            source = sources[number - 1].node
            chunk = _SOURCE_PREFIX.sub("", source.get_content()).strip()
            document = str(source.metadata.get("file_name", ""))
            valid += self._verbatim(chunk, document)
            holds = holds or self._holds(source, chunk, references)
            quotes.append({"text": chunk, "document": document, "source_number": number})
        refused = not text or bool(REFUSAL.search(text))
        return Outcome(
            rank=rank,
            answer=text,
            refused=refused,
            refusal_reason="says the sources do not tell" if refused else None,
            quotes=tuple(quotes),
            quotes_valid=valid,
            grounded=holds and not refused,
            timings=timings,
            prompt_tokens=tokens[0],
            completion_tokens=tokens[1],
            model=self._model,
            backend=self._backend,
            prompt_version="llama-index CitationQueryEngine defaults",
        )

    def _verbatim(self, chunk: str, document: str) -> bool:
        if not document:
            return False
        if document not in self._raw:
            path = self._settings.corpus_dir / document
            self._raw[document] = NormalizedText(path.read_text(encoding="utf-8"))
        # Against the original file only, as for the assistant (evals/sourcecheck.py).
        return locate(chunk, self._raw[document]) is not None or stands_in_file(
            chunk, self._settings.corpus_dir / document
        )

    def _holds(self, node: Any, chunk: str, references: list[SourceSpan]) -> bool:
        document = Path(str(node.metadata.get("file_name", ""))).name
        mine = [r for r in references if r.document == document]
        if not mine:
            return False
        span = locate(chunk, corpus_text(self._settings.corpus_dir, document))
        if span is not None and any(
            SourceSpan(document, span.start, span.end).overlaps(r) for r in mine
        ):
            return True
        clean = corpus_text(self._settings.corpus_dir, document)
        inside = NormalizedText(chunk)
        return any(locate(clean.original[r.start : r.end], inside) is not None for r in mine)
