"""Beleidsassistent: answers questions about Dutch government documents with verified quotes."""

from assistant import _runtime_env  # noqa: F401  (must run before heavy imports)
from assistant.errors import AssistantError
from assistant.settings import Settings, load_settings

__all__ = ["AssistantError", "Settings", "load_settings"]
