"""The exceptions this project raises, in one tree.

    AssistantError                 base; ``str(err)`` is a message a user can act on
    ├── ConfigurationError         settings that cannot work (bad path, bad combination)
    ├── IndexMismatchError         the index was built with other embedding/chunking settings
    ├── IndexNotReadyError         no index yet, or it is incomplete: run ingest first
    ├── DocumentError              one input file could not be ingested (the others go on)
    │   └── UnsupportedFormatError the file type is not supported
    ├── QuestionError              the question cannot be asked (empty, too long, control chars)
    └── BackendError               a model backend (embedder, LLM, Chroma server) failed

Third-party exceptions are translated at the boundary (``raise DocumentError(...) from exc``) so
callers see one hierarchy and a hint what to do, never a raw stack trace from a dependency.
"""

from __future__ import annotations

from pathlib import Path


class AssistantError(Exception):
    """Base class: every error of this project carries a message with what to do."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}" if hint else message)


class ConfigurationError(AssistantError):
    """The settings cannot work as given."""


class IndexMismatchError(AssistantError):
    """The stored index was built with different embedding or chunking settings."""


class IndexNotReadyError(AssistantError):
    """There is no (complete) index to read from."""


class DocumentError(AssistantError):
    """A single document could not be loaded; ingestion of the others continues."""

    def __init__(self, path: Path, reason: str, *, hint: str | None = None) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}", hint=hint)


class UnsupportedFormatError(DocumentError):
    """The file's type is not one we can read."""


class QuestionError(AssistantError):
    """The question cannot be asked as given."""


class BackendError(AssistantError):
    """A model or storage backend did not answer as expected."""
