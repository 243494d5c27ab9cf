"""Regions of an audit log, and what is in each, surveyed ahead of the reader.

:func:`regions` cuts a log into regions of whole lines; :func:`scout` finds, in one region,
the lines whose record a rule may match (and whether the region has headers bulk reading
cannot trust); :class:`Scout` runs a survey of each region (logs/audit_fast.py's) in a
second process reading the file ahead of the reader.
"""

from __future__ import annotations

import io
import marshal
import os
import signal
import stat
import struct
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, Protocol

from taintsigma.logs.reader import Readable, ReadStats, re2_finder, whole_lines


class RecordFilter(Protocol):
    """Which raw records (lower-cased lines) a rule may match."""

    def search(self, lowered: bytes, pos: int, end: int | None = None) -> int:
        """Where, at or after ``pos``, the next line that may match starts to hit (-1: none)."""

    def may_match(self, line: bytes) -> bool:
        """Whether a rule may match the record of this lower-cased line."""


class Scout:
    """A region-by-region ``survey`` (a function of a region's bytes giving a value marshal
    can write) of a plain file, in a process forked to read the file ahead of the reader (by
    ``os.pread``, cutting it into the same regions): the results come through a pipe, one
    message a region. Any trouble (the process gone, a region not as expected) and the
    reader surveys the rest itself."""

    MIN_REGIONS = 8  # a smaller file is surveyed faster than a process is forked

    def __init__(self, pid: int, pipe: BinaryIO) -> None:
        self.pid = pid
        self.pipe = pipe

    @classmethod
    def start(
        cls,
        stream: BinaryIO,
        first: bytes,
        survey: Callable[[bytes], Any],
        chunk_size: int,
        max_line: int,
    ) -> Scout | None:
        if not hasattr(os, "fork") or not isinstance(stream, io.BufferedReader):
            return None
        try:
            fd = stream.fileno()
            info = os.fstat(fd)
            start = stream.tell() - len(first)
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(info.st_mode) or info.st_size - start < cls.MIN_REGIONS * chunk_size:
            return None
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the scout: never returns
            os.close(read_end)
            status = 0
            try:
                with os.fdopen(write_end, "wb") as out:
                    source = PositionalReader(fd, start + len(first))
                    head = os.pread(fd, len(first), start)
                    for region, _, offset in regions(
                        source, head, ReadStats(), chunk_size, max_line
                    ):
                        message = marshal.dumps((offset, len(region), survey(region)))
                        out.write(struct.pack("<I", len(message)) + message)
            except BaseException:  # noqa: BLE001 - the reader surveys for itself
                status = 1
            finally:
                os._exit(status)
        os.close(write_end)
        return cls(pid, os.fdopen(read_end, "rb"))

    def next(self, offset: int, size: int) -> Any:
        """The survey of the region at ``offset`` of ``size`` bytes (None: none came)."""
        if self.pipe.closed:
            return None
        head = self.pipe.read(4)
        if len(head) == 4:
            message = self.pipe.read(struct.unpack("<I", head)[0])
            try:
                found_offset, found_size, survey = marshal.loads(message)
            except (EOFError, ValueError, TypeError):
                found_offset = -1
            if (found_offset, found_size) == (offset, size):
                return survey
        self.pipe.close()  # gone, or cut otherwise: the reader goes on alone
        return None

    def stop(self) -> None:
        if not self.pipe.closed:
            self.pipe.close()
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)


class PositionalReader:
    """``read(size)`` of a file descriptor from ``offset`` on, by ``os.pread``: the file's
    shared position (the reader's) is left alone."""

    def __init__(self, fd: int, offset: int) -> None:
        self.fd = fd
        self.offset = offset

    def read(self, size: int) -> bytes:
        data = os.pread(self.fd, size, self.offset)
        self.offset += len(data)
        return data


# Headers bulk reading does not look for (lower-cased): a SYSCALL record's without
# ``msg=``, and the SYSCALL and EXECVE records by number.
ODD_HEADER = re2_finder(rb"type=(?:syscall audit\(|13(?:00|09) )")


def scout(records: RecordFilter, lowered: bytes) -> tuple[list[tuple[int, int]], bool]:
    """The lines (start, end) of a lower-cased region whose record a rule may match, and
    whether the region has a header :data:`_REGULAR` cannot see."""
    found = []
    pos, size = 0, len(lowered)
    while (hit := records.search(lowered, pos)) >= 0:
        start = lowered.rfind(b"\n", 0, hit) + 1
        stop = lowered.find(b"\n", hit)
        if stop < 0:
            stop = size
        if records.may_match(lowered[start:stop]):
            found.append((start, stop))
        pos = stop + 1
    return found, ODD_HEADER(lowered, 0) >= 0


def regions(
    stream: Readable, first: bytes, stats: ReadStats, chunk_size: int, max_line: int
) -> Iterator[tuple[bytes, int, int]]:
    """Whole lines in regions of about ``chunk_size``: ``(region, lines before it, offset)``,
    cut before a SYSCALL record where one is in the second half (an event's records are
    written in a row). A line longer than ``max_line`` with no end in sight is cut there
    (the rest skipped)."""
    line_no = 0
    for buf, end, offset in whole_lines(stream, first, stats, chunk_size, max_line, _region_end):
        if not end:  # one line longer than max_line
            line_no += 1
            stats.lines += 1
            stats.truncated += 1
            yield buf[:max_line], line_no - 1, offset
            continue
        region = buf[:end]
        lines = region.count(b"\n") + (0 if region.endswith(b"\n") else 1)
        yield region, line_no, offset
        line_no += lines
        stats.lines += lines


def _region_end(buf: bytes) -> int:
    """After the last whole line, or before the last SYSCALL record when it is in the second
    half: its event's records stay in one region."""
    end = buf.rfind(b"\n") + 1
    cut = buf.rfind(b"\ntype=SYSCALL ", 0, end) + 1
    return cut if cut > end // 2 else end
