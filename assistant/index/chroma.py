"""Connecting to Chroma, a server (``HttpClient``) or embedded in the index folder
(``PersistentClient``), and what its failures mean for the user.

Three things Chroma 1.5 does not do for us:

- It cannot open an embedded store in a read-only folder: it writes to SQLite on every open
  (chroma-core/chroma#1438). A reader of a shared, read-only index gets a private copy instead.
- A call that fails inside embedded Chroma (a full disk) can leave a connection of its
  process-wide pool holding SQLite's lock, and every later call on that path then waits forever
  (seen with 1.5.9 in about one run in three). :func:`discard_embedded` drops the pool so the
  next client starts afresh.
- Its errors are raw ``httpx``/Rust errors; :func:`chroma_failure` names the server or folder and
  says what to do.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from assistant.core.errors import AssistantError, BackendError
from assistant.core.settings import Settings
from assistant.index.layout import IndexLayout
from assistant.index.storage import causes, is_writable, storage_error

log = logging.getLogger(__name__)


def chroma_client(settings: Settings, *, read_only: bool = False) -> Any:
    """A Chroma client: a server when a host is set, else embedded in the index folder.

    ``read_only``: the caller never writes, so an embedded store in a folder that cannot be
    written is opened from a private copy (removed again when the client is garbage).
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
        path = IndexLayout(settings.index_dir).chroma
        if read_only and path.is_dir() and not is_writable(path):
            return _snapshot_client(path, chroma_settings)
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except AssistantError:
        raise
    except Exception as exc:
        raise chroma_failure(settings, exc) from exc


def chroma_failure(
    settings: Settings, exc: BaseException, *, hint: str | None = None
) -> AssistantError:
    """The error to show when a Chroma call failed with ``exc``; ``hint`` for a failure that
    is neither the network nor the disk.

    On a nearly full disk a vague embedded failure is put down to the disk: Chroma reports a
    full disk in its compaction step (which reads run too) only as "Error in compaction".
    """
    if isinstance(exc, AssistantError):
        return exc
    reason = _reason(exc)
    repair = hint or (
        "Run `python -m ingest` to repair the index; if that fails too, rebuild it with "
        "`python -m ingest --rebuild`."
    )
    if settings.chroma_host:
        address = f"{settings.chroma_host}:{settings.chroma_port}"
        if _unreachable(exc):
            return BackendError(
                f"The Chroma server at {address} cannot be reached ({reason}).",
                hint=f"Start it with `chroma run --path <folder> --host {settings.chroma_host} "
                f"--port {settings.chroma_port}`, or check ASSISTANT_CHROMA_HOST and "
                "ASSISTANT_CHROMA_PORT (leave ASSISTANT_CHROMA_HOST empty to use the embedded "
                "store in the data folder).",
            )
        return BackendError(f"The Chroma server at {address} failed ({reason}).", hint=repair)
    folder = IndexLayout(settings.index_dir).chroma
    translated = storage_error(exc, folder, blame_low_space=True)
    if translated is not None:
        return translated
    return BackendError(f"The embedded Chroma store in {folder} failed ({reason}).", hint=repair)


def discard_embedded(client: Any) -> None:
    """Stop the process-wide Chroma system behind an embedded ``client``.

    Its connections are closed (releasing any SQLite lock a failed write left behind); clients
    that still hold it fail on their next call, and the next client opens a new system.
    """
    identifier = getattr(client, "_identifier", None)
    if identifier is not None:
        _stop_system(identifier, only_with=getattr(client, "_server", None))


def _snapshot_client(path: Path, chroma_settings: Any) -> Any:
    import chromadb

    folder = Path(tempfile.mkdtemp(prefix="beleidsassistent-chroma-"))
    copy = folder / "chroma"
    try:
        shutil.copytree(path, copy)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise BackendError(
            f"The index folder {path} is read-only, and a private copy of its Chroma store "
            f"could not be made in {folder.parent} ({exc.strerror or exc}).",
            hint="Free space in the temporary folder (or point TMPDIR to another one), or move "
            "the index to a writable folder with ASSISTANT_DATA_DIR.",
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
    weakref.finalize(client, _drop_snapshot, str(copy), folder)
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
    text = str(exc).strip() or "no details"
    return f"{type(exc).__name__}: {text[:300]}"
