"""Scan inputs: files, folders (recursively), ``.gz`` files and ``-`` for stdin, as byte streams.

Problems never raise here: each becomes an InputProblem (one line for the user) and the
other inputs are still read. A problem is an ``error`` (the scan exits 2) or, for what a
folder walk meets but nobody asked for (binary files, sockets), a ``note``.
"""

from __future__ import annotations

import gzip
import os
import stat
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from taintsigma.logs.sniff import magic

STDIN = "-"
READ_ERRORS = (OSError, EOFError, zlib.error, gzip.BadGzipFile)


@dataclass(frozen=True)
class InputSource:
    """One input to read: a file path or ``-``; ``explicit`` when named on the command line."""

    path: str
    explicit: bool = True
    size: int | None = None


@dataclass(frozen=True)
class InputProblem:
    """An input that cannot be read (``error``) or is skipped on purpose (``note``)."""

    path: str
    message: str
    error: bool = True

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def expand_inputs(paths: Iterable[str | Path]) -> Iterator[InputSource | InputProblem]:
    """Expand command-line inputs into sources, in order; folders are walked sorted.

    A named FIFO or character device (``<(journalctl -o json)``) is read like a file; inside
    folders only regular files are read.
    """
    for raw in paths:
        path = str(raw)
        if path == STDIN:
            yield InputSource(STDIN)
            continue
        try:
            info = os.stat(path)
        except OSError as err:
            kind = "dangling symbolic link" if os.path.islink(path) else None
            yield InputProblem(path, f"cannot read: {kind or _reason(err)}")
            continue
        if stat.S_ISDIR(info.st_mode):
            yield from _walk(path)
        elif stat.S_ISREG(info.st_mode):
            yield InputSource(path, size=info.st_size)
        elif stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode):
            yield InputSource(path)
        else:
            yield InputProblem(path, "cannot read: not a regular file, folder or pipe")


def _walk(folder: str) -> Iterator[InputSource | InputProblem]:
    try:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as err:
        yield InputProblem(folder, f"cannot read folder: {_reason(err)}")
        return
    # As root, a folder without read permission is still readable; see docs/scan.md.
    for entry in entries:
        path = os.path.join(folder, entry.name)
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(path)
                continue
            info = entry.stat()
        except OSError as err:
            kind = "dangling symbolic link" if entry.is_symlink() else _reason(err)
            yield InputProblem(path, f"cannot read: {kind}")
            continue
        if stat.S_ISREG(info.st_mode):
            yield InputSource(path, explicit=False, size=info.st_size)
        elif not stat.S_ISDIR(info.st_mode):
            yield InputProblem(path, "skipped: not a regular file", error=False)


def open_input(source: InputSource) -> tuple[BinaryIO, bool]:
    """Open a source as a binary stream of its (decompressed) bytes.

    Returns the stream and whether it is gzip-compressed. Raises OSError (or a subclass)
    when the file cannot be opened; a corrupt ``.gz`` raises while being read.
    """
    if source.path == STDIN:
        raw: BinaryIO = sys.stdin.buffer
    else:
        raw = open(source.path, "rb")  # noqa: SIM115 - closed by the caller
    peek = getattr(raw, "peek", None)
    head = peek(2)[:2] if peek is not None else b""
    if magic(head) == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb"), True  # type: ignore[return-value]
    return raw, False


def read_error_message(err: BaseException) -> str:
    """One line describing a read failure (corrupt gzip, I/O error, folder in place of a file)."""
    if isinstance(err, gzip.BadGzipFile | zlib.error):
        return f"corrupt gzip data ({err})"
    if isinstance(err, EOFError):
        return "truncated gzip file (compressed data ends early)"
    if isinstance(err, OSError):
        return _reason(err)
    return str(err)


def _reason(err: OSError) -> str:
    return (err.strerror or str(err)).lower() if err.strerror else str(err)
