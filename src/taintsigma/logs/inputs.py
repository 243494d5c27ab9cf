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
from typing import BinaryIO, Self

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


def expand_inputs(
    paths: str | Path | Iterable[str | Path],
) -> Iterator[InputSource | InputProblem]:
    """Expand command-line inputs (one path, or several) into sources, in order; folders are
    walked sorted.

    A named FIFO or character device (``<(journalctl -o json)``) is read like a file; inside
    folders only regular files are read, and symbolic links to folders are not followed (a
    note says so).
    """
    stdin_seen = False
    for raw in [paths] if isinstance(paths, str | Path) else paths:
        path = str(raw)
        if path == STDIN:
            if stdin_seen:  # its bytes are gone after the first reading
                yield InputProblem(STDIN, "standard input named more than once")
            else:
                yield InputSource(STDIN)
            stdin_seen = True
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
        elif stat.S_ISDIR(info.st_mode):
            yield InputProblem(
                path, "skipped: symbolic link to a folder (not followed)", error=False
            )
        else:
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
        return GzipReader(raw), True  # type: ignore[return-value]
    return raw, False


class GzipReader:
    """The decompressed bytes of a gzip stream (members one after another, as ``zcat``).

    Unlike ``gzip.GzipFile``, a truncated or corrupt stream does not raise and lose the bytes
    decoded before the damage: they are all returned, then end of data, and ``problem`` says
    what was wrong. Memory stays bounded by the read size, whatever the compression ratio.
    """

    def __init__(self, fileobj: BinaryIO, *, block: int = 1 << 16) -> None:
        self.fileobj = fileobj
        self.problem: str | None = None
        self._block = block
        self._inflate = zlib.decompressobj(wbits=31)
        self._fed = False  # whether the current member got any byte
        self._eof = False

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` decompressed bytes (all that is left when negative); b"" at the end."""
        parts: list[bytes] = []
        got = 0
        while not self._eof and (size < 0 or got < size):
            piece = self._next(self._block if size < 0 else max(size - got, 1))
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)

    def _next(self, limit: int) -> bytes:
        data = self._inflate.unconsumed_tail or self.fileobj.read(self._block)
        if data and not self._fed and not data.strip(b"\x00"):
            return b""  # zero padding after the last member, as gzip tolerates
        if not data:
            self._eof = True
            if self._fed and not self._inflate.eof:
                self.problem = "truncated gzip file (compressed data ends early)"
            return b""
        self._fed = True
        try:
            out = self._inflate.decompress(data, limit)
        except zlib.error as err:
            self._eof = True
            self.problem = f"corrupt gzip data ({err})"
            return b""
        if self._inflate.eof:
            rest = self._inflate.unused_data
            self._inflate = zlib.decompressobj(wbits=31)
            self._fed = False
            if rest.strip(b"\x00"):  # another member follows (zero padding is ignored)
                self._fed = True
                try:
                    out += self._inflate.decompress(rest, limit)
                except zlib.error as err:
                    self._eof = True
                    self.problem = f"corrupt gzip data ({err})"
        return out

    def close(self) -> None:
        self.fileobj.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stream_problem(stream: BinaryIO, bytes_read: int) -> str | None:
    """What went wrong with a stream read to its end without raising: a damaged ``.gz``, or a
    regular file now shorter than what was read from it (truncated meanwhile, as logrotate's
    ``copytruncate`` does: lines written after that were not read)."""
    problem = getattr(stream, "problem", None)
    if problem is not None:
        return str(problem)
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    if stat.S_ISREG(info.st_mode) and info.st_size < bytes_read:
        return (
            f"the file was truncated while being read (now {info.st_size:,} bytes, "
            f"{bytes_read:,} read; log rotation with copytruncate?)"
        )
    return None


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
