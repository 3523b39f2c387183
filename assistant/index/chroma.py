"""Connecting to Chroma, a server (``HttpClient``) or embedded in the index folder
(``PersistentClient``), and what its failures mean for the user. Which of the two is decided
once, by :func:`chroma_target` (a :class:`ServerChroma` or an :class:`EmbeddedChroma`).

Three things Chroma 1.5 does not do for us:

- It cannot open an embedded store in a read-only folder: it writes to SQLite on every open
  (chroma-core/chroma#1438). A reader of a shared, read-only index gets a private copy instead.
- A call that fails inside embedded Chroma (a full disk) can leave a connection of its
  process-wide pool holding SQLite's lock, and every later call on that path then waits forever
  (seen with 1.5.9 in about one run in three). :func:`discard_embedded` drops the pool so the
  next client starts afresh.
- Its errors are raw ``httpx``/Rust errors; ``ChromaTarget.failure`` names the server or folder
  and says what to do.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.core.errors import AssistantError, BackendError
from assistant.core.i18n import _
from assistant.core.settings import Settings
from assistant.index.layout import IndexLayout
from assistant.index.storage import causes, is_writable, storage_error

log = logging.getLogger(__name__)


class ChromaTarget(Protocol):
    """Where the chunk store lives: a Chroma server or embedded in the index folder. Chosen once
    from the settings by :func:`chroma_target`; every difference between the two is here."""

    @property
    def embedded(self) -> bool:
        """Embedded in this process (SQLite in the index folder), not a server."""
        ...

    def describe(self) -> str:
        """``Chroma server at HOST:PORT`` or ``embedded Chroma store in FOLDER``."""
        ...

    def client(self, *, read_only: bool = False) -> Any:
        """A new Chroma client (AssistantError naming the server or folder when it fails)."""
        ...

    def failure(self, exc: BaseException, *, hint: str | None = None) -> AssistantError:
        """The error to show when a Chroma call failed with ``exc``; ``hint`` for a failure
        that is neither the network nor the disk."""
        ...

    def discard(self, client: Any) -> bool:
        """After a failed call: drop what it may have left behind; True when ``client`` is then
        unusable and must be replaced before the next call."""
        ...

    def release(self, client: Any) -> None:
        """Close ``client`` for good (its connections; a private snapshot is removed)."""
        ...


@dataclass(frozen=True)
class ServerChroma:
    """A Chroma server (``chroma run``) spoken to over HTTP."""

    host: str
    port: int
    embedded = False

    def describe(self) -> str:
        return _("Chroma server at {host}:{port}").format(host=self.host, port=self.port)

    def client(self, *, read_only: bool = False) -> Any:
        import chromadb

        try:
            return chromadb.HttpClient(host=self.host, port=self.port, settings=_chroma_settings())
        except Exception as exc:
            raise self.failure(exc) from exc

    def failure(self, exc: BaseException, *, hint: str | None = None) -> AssistantError:
        if isinstance(exc, AssistantError):
            return exc
        if _unreachable(exc):
            return BackendError(
                _("The {target} cannot be reached ({reason}).").format(
                    target=self.describe(), reason=_reason(exc)
                ),
                hint=_(
                    "Start it with `chroma run --path <folder> --host {host} --port {port}`, or "
                    "check ASSISTANT_CHROMA_HOST and ASSISTANT_CHROMA_PORT (leave "
                    "ASSISTANT_CHROMA_HOST empty to use the embedded store in the data folder)."
                ).format(host=self.host, port=self.port),
            )
        return _failed(self.describe(), exc, hint)

    def discard(self, client: Any) -> bool:
        return False  # the server keeps its own state; the client reconnects by itself

    def release(self, client: Any) -> None:
        _close(client)


@dataclass(frozen=True)
class EmbeddedChroma:
    """Chroma embedded in this process, its SQLite and segments in the index folder."""

    folder: Path
    embedded = True

    def describe(self) -> str:
        return _("embedded Chroma store in {folder}").format(folder=self.folder)

    def client(self, *, read_only: bool = False) -> Any:
        """``read_only``: the caller never writes, so a store in a folder that cannot be written
        is opened from a private copy (removed again on :meth:`release`, or when the client is
        garbage)."""
        import chromadb

        try:
            if read_only and self.folder.is_dir() and not is_writable(self.folder):
                return _snapshot_client(self.folder, _chroma_settings())
            self.folder.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.folder), settings=_chroma_settings())
        except AssistantError:
            raise
        except Exception as exc:
            raise self.failure(exc) from exc

    def failure(self, exc: BaseException, *, hint: str | None = None) -> AssistantError:
        """On a nearly full disk a vague failure is put down to the disk: Chroma reports a full
        disk in its compaction step (which reads run too) only as "Error in compaction"."""
        if isinstance(exc, AssistantError):
            return exc
        translated = storage_error(exc, self.folder, blame_low_space=True)
        if translated is not None:
            return translated
        return _failed(self.describe(), exc, hint)

    def discard(self, client: Any) -> bool:
        # A failed call (a write, or a read that applies Chroma's write log) may have left a
        # connection holding SQLite's lock, and the next call would wait forever.
        discard_embedded(client)
        return True

    def release(self, client: Any) -> None:
        snapshot = _snapshots.pop(client, None)
        if snapshot is not None:
            snapshot()  # stops its private system and removes the copy
        elif _current(client):
            _close(client)  # one reference fewer; the system stops with its last client
        # else: discard_embedded() stopped its system already, and a newer one is not its own


def chroma_target(settings: Settings) -> ChromaTarget:
    """The Chroma the settings name: a server when ``chroma_host`` is set, else embedded."""
    if settings.chroma_host:
        return ServerChroma(settings.chroma_host, settings.chroma_port)
    return EmbeddedChroma(IndexLayout(settings.index_dir).chroma)


def chroma_client(settings: Settings, *, read_only: bool = False) -> Any:
    """A Chroma client for :func:`chroma_target` (see :meth:`EmbeddedChroma.client`)."""
    return chroma_target(settings).client(read_only=read_only)


def chroma_failure(
    settings: Settings, exc: BaseException, *, hint: str | None = None
) -> AssistantError:
    """The error to show when a Chroma call failed with ``exc`` (see ChromaTarget.failure)."""
    return chroma_target(settings).failure(exc, hint=hint)


def discard_embedded(client: Any) -> None:
    """Stop the process-wide Chroma system behind an embedded ``client``.

    Its connections are closed (releasing any SQLite lock a failed write left behind); clients
    that still hold it fail on their next call, and the next client opens a new system.
    """
    identifier = getattr(client, "_identifier", None)
    if identifier is not None:
        _stop_system(identifier, only_with=getattr(client, "_server", None))


#: Snapshot clients -> the ``weakref.finalize`` that stops their system and removes the copy.
_snapshots: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _chroma_settings() -> Any:
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=True)


def _failed(target: str, exc: BaseException, hint: str | None) -> BackendError:
    return BackendError(
        _("The {target} failed ({reason}).").format(target=target, reason=_reason(exc)),
        hint=hint
        or _(
            "Run `python -m ingest` to repair the index; if that fails too, rebuild it with "
            "`python -m ingest --rebuild`."
        ),
    )


def _close(client: Any) -> None:
    try:
        client.close()
    except Exception as exc:  # a client of a half-broken system may fail to close
        log.debug("closing a Chroma client failed: %s", exc)


def _current(client: Any) -> bool:
    """Whether the process-wide system of an embedded ``client`` is still the one it opened."""
    from chromadb.api.shared_system_client import SharedSystemClient

    systems: dict[str, Any] = getattr(SharedSystemClient, "_identifier_to_system", {})
    system = systems.get(getattr(client, "_identifier", None) or "")
    server = getattr(client, "_server", None)
    return system is not None and any(part is server for part in system.components())


def _snapshot_client(path: Path, chroma_settings: Any) -> Any:
    import chromadb

    folder = Path(tempfile.mkdtemp(prefix="beleidsassistent-chroma-"))
    copy = folder / "chroma"
    try:
        shutil.copytree(path, copy)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise BackendError(
            _(
                "The index folder {path} is read-only, and a private copy of its Chroma store "
                "could not be made in {temporary} ({reason})."
            ).format(path=path, temporary=folder.parent, reason=exc.strerror or exc),
            hint=_(
                "Free space in the temporary folder (or point TMPDIR to another one), or move "
                "the index to a writable folder with ASSISTANT_DATA_DIR."
            ),
        ) from exc
    size = sum(p.stat().st_size for p in copy.rglob("*") if p.is_file())
    log.warning(
        "the index folder %s is read-only and Chroma cannot open it there; reading a private "
        "copy (%.1f MiB) in %s",
        path,
        size / 2**20,
        copy,
    )
    client = chromadb.PersistentClient(path=str(copy), settings=chroma_settings)
    _snapshots[client] = weakref.finalize(client, _drop_snapshot, str(copy), folder)
    return client


def _drop_snapshot(identifier: str, folder: Path) -> None:
    _stop_system(identifier)
    shutil.rmtree(folder, ignore_errors=True)


def _stop_system(identifier: str, *, only_with: Any = None) -> None:
    """Stop and forget the System for ``identifier`` (a path); with ``only_with``, only if that
    component is part of it (a newer System for the same path is left alone)."""
    # Chroma keeps one System per path in class-level dicts of SharedSystemClient and has no
    # public call to drop one that other clients still use (checked for chromadb 1.5.9).
    from chromadb.api.shared_system_client import SharedSystemClient

    systems: dict[str, Any] = getattr(SharedSystemClient, "_identifier_to_system", {})
    refcounts: dict[str, int] = getattr(SharedSystemClient, "_identifier_to_refcount", {})
    system = systems.get(identifier)
    if system is None:
        return
    if only_with is not None and all(part is not only_with for part in system.components()):
        return
    systems.pop(identifier, None)
    refcounts.pop(identifier, None)
    try:
        system.stop()
    except Exception as exc:  # a half-broken system may fail to stop; it is dropped anyway
        log.debug("stopping the Chroma system for %s failed: %s", identifier, exc)


def _unreachable(exc: BaseException) -> bool:
    """A network failure: refused, reset, timed out (``httpx`` errors, raised by HttpClient)."""
    return any(
        isinstance(cause, ConnectionError | TimeoutError)
        or type(cause).__module__.split(".")[0] in {"httpx", "httpcore"}
        for cause in causes(exc)
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or _("no details")
    return f"{type(exc).__name__}: {text[:300]}"
