"""The zip package of an XLSX file, opened and read within bounds (no zip bomb gets through).

Before :class:`zipfile.ZipFile` reads the central directory, its size is taken from the end record (so a
directory of millions of entries is refused unread); then the number of parts and the uncompressed sizes the
directory declares are checked; a part is then read through a bounded stream that stops one byte past the limit,
since a declared size can lie (zipfile itself stops at the declared size and then fails the CRC check, which
this module reports as a damaged file). The openpyxl fallback opens only a package that passed these checks.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path
from typing import IO

from .bounds import DEFAULT_LIMITS, SpreadsheetLimitError, SpreadsheetLimits, over

__all__ = ["BoundedStream", "open_package", "open_part", "read_part"]

_ENTRY = 46  # the fixed part of a central-directory entry


def _directory_bytes(path: Path) -> int | None:
    """The central directory's size as the end record gives it (what zipfile will read), or None if unknown."""
    end_record = getattr(zipfile, "_EndRecData", None)  # zipfile's own reading of the end record
    if end_record is None:
        return None
    with path.open("rb") as stream:
        record = end_record(stream)
    return None if record is None else int(record[getattr(zipfile, "_ECD_SIZE", 5)])


def open_package(path: Path, limits: SpreadsheetLimits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    """The package, once its size, directory, number of parts and declared sizes (each part, and all together)
    are within ``limits``; even a part no reader will open (an image) is held to the per-part bound."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise SpreadsheetLimitError("not a regular file")
    if info.st_size > limits.max_file_bytes:
        size = over("bytes", info.st_size, limits.max_file_bytes, "max_file_bytes")
        raise SpreadsheetLimitError(f"the file has {size}")
    directory = _directory_bytes(path)
    if directory is not None and directory > limits.max_parts * (_ENTRY + 256):
        msg = f"the zip directory takes {directory:,} bytes, more than {limits.max_parts:,} parts need; raise the limit"
        raise SpreadsheetLimitError(f"{msg} with load_catalog(..., limits=SpreadsheetLimits(max_parts=...))")
    package = zipfile.ZipFile(path)
    try:
        parts = package.infolist()
        if len(parts) > limits.max_parts:
            raise SpreadsheetLimitError("the package has " + over("parts", len(parts), limits.max_parts, "max_parts"))
        for part in parts:  # each part first, so that the message names the bomb
            if part.file_size > limits.max_part_bytes:
                _too_big(part.filename, part.file_size, limits)
        total = sum(p.file_size for p in parts)
        if total > limits.max_package_bytes:
            what = over("bytes uncompressed (as declared)", total, limits.max_package_bytes, "max_package_bytes")
            raise SpreadsheetLimitError(f"the package has {what}")
    except BaseException:
        package.close()
        raise
    return package


def _too_big(name: str, size: int, limits: SpreadsheetLimits) -> None:
    what = f"bytes uncompressed in {name}"
    raise SpreadsheetLimitError("the package declares " + over(what, size, limits.max_part_bytes, "max_part_bytes"))


def _lied(name: str, limit: int) -> str:
    return (
        f"{name} holds more than {limit:,} bytes uncompressed (whatever its zip entry declares); raise the limit "
        "with load_catalog(..., limits=SpreadsheetLimits(max_part_bytes=...))"
    )


class BoundedStream(io.RawIOBase):
    """A read-only stream over a part that fails once more than ``limit`` bytes came out of it."""

    def __init__(self, raw: IO[bytes], name: str, limit: int) -> None:
        self._raw = raw
        self._name = name
        self._limit = limit
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(min(len(buffer), self._limit + 1 - self._read))
        self._read += len(data)
        if self._read > self._limit:
            raise SpreadsheetLimitError(_lied(self._name, self._limit))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def read_part(package: zipfile.ZipFile, name: str, limits: SpreadsheetLimits = DEFAULT_LIMITS) -> bytes:
    """A part's bytes: its declared size checked, then read through a :class:`BoundedStream`."""
    part = package.getinfo(name)  # KeyError when missing
    if part.file_size > limits.max_part_bytes:
        _too_big(name, part.file_size, limits)
    with package.open(part) as stream:
        data = stream.read(limits.max_part_bytes + 1)
    if len(data) > limits.max_part_bytes:
        raise SpreadsheetLimitError(_lied(name, limits.max_part_bytes))
    return data


def open_part(package: zipfile.ZipFile, name: str, limits: SpreadsheetLimits = DEFAULT_LIMITS) -> BoundedStream:
    """A part as a bounded stream (for ``iterparse``)."""
    part = package.getinfo(name)
    if part.file_size > limits.max_part_bytes:
        _too_big(name, part.file_size, limits)
    return BoundedStream(package.open(part), name, limits.max_part_bytes)
