"""Read files that someone else named: only regular files, never more than a bound.

A path given on the command line or inside another file may name a FIFO (reading it
waits for a writer forever), a device (``/dev/zero`` never ends), a socket or a
folder.  Every reader of a user-named file goes through :func:`read_regular_file`:
the file is opened with ``O_NONBLOCK`` (so opening a FIFO never waits), checked with
``fstat`` on the opened descriptor (so a file swapped between a check and the open
is still caught) and read up to the bound plus one byte.  Folder searches list only
regular files (:func:`regular_files`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from ..errors import DefinitionError

__all__ = ["ErrorFactory", "file_kind", "is_regular_file", "read_regular_file", "regular_files"]

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


class ErrorFactory(Protocol):
    """An error class of the project's tree (or a function building one) called like :class:`DefinitionError`."""

    def __call__(
        self, message: str, *, file: str | Path | None = ..., line: int | None = ..., element: str | None = ...
    ) -> DefinitionError: ...


def file_kind(mode: int) -> str:
    """What a non-regular file is, for messages: ``a folder``, ``a FIFO (named pipe)``, ..."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def is_regular_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a regular file (following symbolic links); never raises."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def read_regular_file(
    path: str | os.PathLike[str], *, max_bytes: int, error: ErrorFactory, filename: str | None = None, hint: str = ""
) -> bytes:
    """The bytes of the regular file at ``path``, refused if it is anything else or larger than ``max_bytes``.

    ``error`` builds the exception (it names ``filename``, default the path); ``hint`` says how to raise the
    limit, e.g. ``"pass max_bytes= to load_yaml"``.
    """
    name = filename or os.fspath(path)
    try:
        fd = os.open(path, _FLAGS)
    except (OSError, ValueError) as exc:
        raise error(f"cannot read the file: {getattr(exc, 'strerror', None) or exc}", file=name) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            message = f"cannot read the file: it is {file_kind(info.st_mode)}, and only regular files are read"
            raise error(message, file=name)
        if info.st_size > max_bytes:
            raise error(_too_large(max_bytes, hint), file=name)
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:  # bounded even if the file grows while it is read
            chunk = os.read(fd, min(max_bytes + 1 - size, 2**24))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror or exc}", file=name) from exc
    finally:
        os.close(fd)
    if size > max_bytes:
        raise error(_too_large(max_bytes, hint), file=name)
    return b"".join(chunks)


def _too_large(limit: int, hint: str) -> str:
    tail = f"; {hint}" if hint else ""
    return f"the file is larger than the limit of {limit:,} bytes{tail}"


def regular_files(folder: Path, pattern: str) -> list[Path]:
    """The regular files under ``folder`` (recursively) whose names match ``pattern``, sorted.

    FIFOs, devices, sockets and folders that happen to match are left out: they are not documents.
    """
    return sorted(p for p in _walk(folder, pattern) if is_regular_file(p))


def _walk(folder: Path, pattern: str) -> Iterable[Path]:
    try:
        yield from folder.rglob(pattern)
    except OSError:  # a folder that vanished or cannot be listed while walking
        return
