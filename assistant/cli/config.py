"""``beleidsassistent config``: the effective settings, where each value came from, the hash.

Settings are read as pydantic-settings reads them (assistant/core/settings.py): a keyword
override, then the environment, then the ``.env`` file in the working directory, then the
default. This module only explains that outcome; it reads the same sources in the same order and
never decides a value itself (the value shown is the loaded one).
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import AliasChoices, SecretStr

from assistant.core.i18n import N_, _
from assistant.core.settings import Settings, load_settings

Source = Literal["default", "environment", "env_file"]
MASK = "********"
_SOURCE_LABELS: dict[str, str] = {
    "default": N_("default"),
    "environment": N_("environment ({variable})"),
    "env_file": N_(".env file ({variable})"),
}
#: user:password@ in a URL (an Ollama host behind a proxy with a login).
_URL_LOGIN = re.compile(r"(?<=://)[^/@\s]+@")


@dataclass(frozen=True)
class Row:
    """One setting as loaded: its value (secrets masked) and where it came from."""

    name: str
    value: Any
    source: Source
    variable: str | None  # the environment or .env variable that set it
    description: str

    def source_label(self) -> str:
        return _(_SOURCE_LABELS[self.source]).format(variable=self.variable)


def variable_names(name: str) -> list[str]:
    """The variables that can set field ``name``, in pydantic-settings' order of preference."""
    field = Settings.model_fields[name]
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    if isinstance(alias, str):
        return [alias]
    return [f"{Settings.model_config.get('env_prefix', '')}{name}".upper()]


def _lookup(names: list[str], values: Mapping[str, str | None]) -> str | None:
    # pydantic-settings matches variable names case-insensitively (case_sensitive=False).
    folded = {key.upper(): key for key in values}
    for name in names:
        if name.upper() in folded:
            return name
    return None


def _shown(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return _URL_LOGIN.sub(f"{MASK}@", value)
    return value


def rows(
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    env_file: Path = Path(".env"),
) -> list[Row]:
    """Every setting of ``settings`` with the source its value came from."""
    environ = os.environ if environ is None else environ
    from_file = dotenv_values(env_file) if env_file.is_file() else {}
    found: list[Row] = []
    for name, field in Settings.model_fields.items():
        names = variable_names(name)
        source: Source = "default"
        variable = _lookup(names, environ)
        if variable is not None:
            source = "environment"
        else:
            variable = _lookup(names, from_file)
            if variable is not None:
                source = "env_file"
        found.append(
            Row(
                name=name,
                value=_shown(getattr(settings, name)),
                source=source,
                variable=variable,
                description=field.description or "",
            )
        )
    return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help=_("Print the settings as JSON."))
    parser.add_argument(
        "--changed",
        action="store_true",
        help=_("Only the settings that do not have their default value."),
    )


def description() -> str:
    return _(
        "Show the settings in effect: each value, where it came from (default, environment\n"
        "variable, or the .env file in the working directory) and the settings hash that\n"
        "answers and eval runs are stamped with. Secrets (the web UI's logins, a password in a\n"
        "URL) are masked."
    )


def epilog() -> str:
    return _(
        "examples:\n"
        "  beleidsassistent config\n"
        "  beleidsassistent config --changed\n"
        "  ASSISTANT_TOP_K=8 beleidsassistent config --json\n"
        "\n"
        "A .env file holds one setting per line, for example:\n"
        "  ASSISTANT_INTERFACE_LANGUAGE=en\n"
        "  ASSISTANT_LLM_BACKEND=ollama"
    )


def run(args: argparse.Namespace) -> int:
    """Print the report; the caller turns an AssistantError (invalid settings) into exit 2."""
    settings = load_settings()
    found = rows(settings)
    if args.changed:
        found = [row for row in found if row.source != "default"]
    if args.json:
        payload = {
            "settings_hash": settings.hash(),
            "env_file": str(Path(".env").resolve()) if Path(".env").is_file() else None,
            "settings": [asdict(row) for row in found],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return 0
    width = max((len(row.name) for row in found), default=10)
    for row in found:
        value = json.dumps(row.value, ensure_ascii=False, default=str)
        print(f"{row.name:<{width}}  {value}  [{row.source_label()}]")
    if not found:
        print(_("Every setting has its default value."))
    env_file = Path(".env")
    if env_file.is_file():
        print(_("The .env file read: {path}").format(path=env_file.resolve()))
    else:
        print(_("No .env file in {folder}.").format(folder=Path.cwd()))
    print(
        _(
            "Settings hash: {hash} (of the settings that change answers; not where things run)"
        ).format(hash=settings.hash())
    )
    return 0
