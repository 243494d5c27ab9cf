"""Read a byte stream in large chunks and hand out only the lines that may matter.

The prefilter works on raw bytes: each 1 MiB chunk is searched, case-insensitively, for the
literals a matching line must contain (one RE2 alternation, faster than lower-casing the chunk
and searching it); only the lines around the hits are cut out and parsed. Lines are
counted with ``bytes.count``, so skipped lines cost next to nothing, and memory stays bounded
by the chunk size plus the longest line kept (``MAX_LINE``, as Filebeat's ``max_bytes``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import re2

CHUNK_SIZE = 1 << 20
MAX_LINE = 10 << 20  # Filebeat's default max_bytes: longer lines are cut there

# Non-ASCII characters whose lower-case or case-folded form contains ASCII letters (Kelvin
# sign K → k, dotted İ → i̇, long ſ → s, ß → ss, ligatures ﬁ → fi …): an evaluator folding
# case could see an ASCII literal in a line whose bytes do not hold it, so a line containing
# one is always parsed. tests/test_scan_prefilter.py recomputes this list from Unicode data.
FOLDING_TO_ASCII = (
    "\u00df", "\u0130", "\u0149", "\u017f", "\u01f0", "\u1e96", "\u1e97", "\u1e98", "\u1e99",
    "\u1e9a", "\u1e9e", "\u212a", "\ufb00", "\ufb01", "\ufb02", "\ufb03", "\ufb04", "\ufb05",
    "\ufb06",
)  # fmt: skip

Searcher = Callable[[bytes, int], int]


@dataclass
class ReadStats:
    """What reading one input saw: lines, lines cut at MAX_LINE, bytes, lines handed out, and
    of those the lines joined to the line before them (a multi-line group's continuations)."""

    lines: int = 0
    truncated: int = 0
    bytes: int = 0
    yielded: int = 0  # lines handed out (a group counts each of its lines)
    joined: int = 0


def make_searcher(literals: Iterable[bytes], patterns: Iterable[bytes] = ()) -> Searcher:
    """Return ``find(raw, pos) -> index of the first hit at or after pos, or -1``.

    ``literals`` are lower-case byte strings, ``patterns`` lower-case RE2 byte regexes: both
    are searched case-insensitively in the raw bytes (RE2's simple case folding: ASCII letters
    in either case, and the Kelvin sign or long s for ``k`` and ``s``, a superset of what
    lower-casing the bytes would find). A chunk holding a character whose full case folding
    gives ASCII letters (FOLDING_TO_ASCII: ``ß`` is ``ss``) is a hit at that character.

    >>> make_searcher([b"kernel"])(b"a KERNEL", 0)
    2
    """
    unique = sorted(set(literals), key=len, reverse=True)
    pieces = [re2.escape(lit) for lit in unique] + list(patterns)
    folding = re2.compile(
        b"|".join(re2.escape(c.encode()) for c in FOLDING_TO_ASCII), options=_RE2_OPTIONS
    )
    alternations = _alternations(pieces) if pieces else []
    if not alternations:

        def first_hit(raw: bytes, pos: int) -> int:
            return -1

    elif len(alternations) == 1:
        (combined,) = alternations

        def first_hit(raw: bytes, pos: int) -> int:
            found = combined.search(raw, pos)
            return -1 if found is None else found.start()

    else:

        def first_hit(raw: bytes, pos: int) -> int:
            hits = [found.start() for a in alternations if (found := a.search(raw, pos))]
            return min(hits, default=-1)

    # Per chunk, not per call: whether it is ASCII, and its first folding character at or
    # after ``since`` (-1: none). A chunk with many hits is searched many times.
    chunk: bytes | None = None
    ascii_only = True
    since = special = -1

    def find(raw: bytes, pos: int) -> int:
        nonlocal chunk, ascii_only, since, special
        hit = first_hit(raw, pos)
        if raw is not chunk:
            chunk, ascii_only, since = raw, raw.isascii(), -1
        if ascii_only:
            return hit
        if since < 0 or pos < since or 0 <= special < pos:
            found = folding.search(raw, pos)
            since, special = pos, (-1 if found is None else found.start())
        if special >= 0 and (hit < 0 or special < hit):
            return special
        return hit

    return find


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a pattern too large is handled below, not logged on stderr
# Many literals and patterns (an audit log's hex forms) need more than RE2's default 8 MiB of
# DFA memory; without it RE2 falls back to its far slower NFA.
_RE2_OPTIONS.max_mem = 128 << 20


_CASELESS = re2.Options()
_CASELESS.log_errors = False
_CASELESS.max_mem = 128 << 20
_CASELESS.case_sensitive = False


_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED


class Finder(Protocol):
    def __call__(self, text: bytes, pos: int, end: int | None = None, /) -> int: ...


def newlines_in(data: bytes, start: int, end: int) -> int:
    """``data.count(b"\\n", start, end)``, twice as fast on log lines: ``bytes.count`` of one
    byte tests every byte, ``bytes.replace`` finds them with ``memchr``.

    >>> newlines_in(b"a\\nb\\n\\nc", 1, 4)
    2
    """
    piece = data[start:end]
    return len(piece) - len(piece.replace(b"\n", b""))


def re2_finder(pattern: bytes, options: re2.Options = _RE2_OPTIONS) -> Finder:
    """``find(text, pos, end=None)``: where the first match of ``pattern`` in ``text[pos:end]``
    starts (-1: none), by RE2's own Match, without the wrapper's per-call cost.

    >>> re2_finder(rb"b+")(b"abba", 0)
    1
    """
    program = re2._re2.RE2(pattern, options)
    if not program.ok():
        raise re2.error(program.error().decode(errors="replace"))
    match = program.Match

    def find(text: bytes, pos: int, end: int | None = None) -> int:
        stop = len(text) if end is None else end
        return match(_UNANCHORED, text, pos, stop)[0][0]  # type: ignore[no-any-return]

    return find


def _alternations(pieces: list[bytes]) -> list[re2._Regexp]:
    """The pieces as few caseless RE2 alternations as RE2's memory budget allows (a rule with
    a huge value list makes one too large to compile: it is split in halves until each
    compiles)."""
    try:
        return [re2.compile(b"|".join(pieces), options=_CASELESS)]
    except re2.error:
        if len(pieces) == 1:
            raise
        half = len(pieces) // 2
        return _alternations(pieces[:half]) + _alternations(pieces[half:])


def read_lines(
    stream: BinaryIO,
    *,
    first: bytes = b"",
    searcher: Searcher | None = None,
    stats: ReadStats,
    chunk_size: int = CHUNK_SIZE,
    max_line: int = MAX_LINE,
    on_chunk: Callable[[], None] | None = None,
    all_lines: bool = False,
    multiline: bool = False,
) -> Iterator[tuple[bytes, int, int, bool]]:
    """Yield ``(line, line number, byte offset, candidate)`` for the lines to look at.

    With no searcher every line is yielded as a candidate. With one, only the lines it hits
    are yielded (as candidates) and the others are just counted; with ``all_lines`` too, every
    line is yielded and ``candidate`` says whether the searcher hit it. ``first`` holds bytes
    already read from the stream (to sniff its format). Line endings are not part of ``line``.

    With ``multiline``, a line starting with a space or a tab belongs to the line before it,
    as Filebeat's system module joins them (``multiline.pattern: "^\\s"``, ``match: after``,
    at most ``MAX_GROUP_LINES`` lines): such a group is yielded as one "line", its lines joined
    by ``\\n``, with the number and offset of its first line.
    """
    def end_of(buf: bytes) -> int:
        return _group_end(buf) if multiline else buf.rfind(b"\n") + 1

    line_no = 0
    for buf, end, offset in whole_lines(
        stream, first, stats, chunk_size, max_line, end_of, on_chunk
    ):
        if not end:  # one line longer than max_line: cut there
            line_no += 1
            stats.lines += 1
            stats.truncated += 1
            piece = buf[:max_line]
            hit = searcher is None or searcher(piece, 0) >= 0
            if hit or all_lines:
                stats.yielded += 1
                yield piece, line_no, offset, hit
            continue
        if searcher is None or all_lines:
            region = buf[:end] if end < len(buf) else buf
            yield from _all_lines(region, searcher, line_no, offset, max_line, stats, multiline)
            lines_here = region.count(b"\n")
        else:
            # The region is buf[:end], searched in place (no copy). The hits' line numbers
            # count the newlines before them: the rest is counted once.
            tally = [0, 0]  # (newlines counted, up to this position)
            yield from _hit_lines(
                buf, searcher, line_no, offset, max_line, stats, multiline, tally, end
            )
            lines_here = tally[0] + newlines_in(buf, tally[1], end)
        if buf[end - 1 : end] != b"\n":
            lines_here += 1  # the last line, with no newline at the end of the stream
        line_no += lines_here
        stats.lines += lines_here


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def whole_lines(
    stream: Readable,
    first: bytes,
    stats: ReadStats,
    chunk_size: int,
    max_line: int,
    end_of: Callable[[bytes], int],
    on_chunk: Callable[[], None] | None = None,
) -> Iterator[tuple[bytes, int, int]]:
    """The stream (after ``first``, bytes already read from it) in regions of whole lines:
    ``(buf, end, offset)``, ``buf[:end]`` the region, starting at byte ``offset``. Before
    the end of the stream, ``end_of(buf)`` says where a region ends (after a newline; 0: not
    in this buffer), the rest waiting for the next read of ``chunk_size``. A line longer than
    ``max_line`` with no end in sight comes alone as ``(buf, 0, offset)``, to be cut there:
    the rest of it is skipped. Counts the bytes read in ``stats``; calls ``on_chunk`` after
    each read."""
    pending, offset, eof, discarding = first, 0, False, False
    while not eof:
        data = stream.read(chunk_size)
        if on_chunk is not None:
            on_chunk()
        eof = not data
        stats.bytes += len(data)
        buf = pending + data if pending else data
        pending = b""
        if discarding:
            newline = buf.find(b"\n")
            if newline < 0:
                offset += len(buf)
                continue
            offset += newline + 1
            buf = buf[newline + 1 :]
            discarding = False
        end = len(buf) if eof else end_of(buf)
        if end == 0:
            if len(buf) >= max_line:
                yield buf, 0, offset
                offset += len(buf)
                discarding = True
            else:
                pending = buf
            continue
        pending = buf[end:]
        yield buf, end, offset
        offset += end


def _all_lines(
    region: bytes,
    searcher: Searcher | None,
    line_no: int,
    offset: int,
    max_line: int,
    stats: ReadStats,
    multiline: bool = False,
) -> Iterator[tuple[bytes, int, int, bool]]:
    parts = region.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    next_hit = searcher(region, 0) if searcher is not None else -1
    start = 0
    group: list[bytes] = []
    group_no = group_start = 0
    group_hit = False
    stats.yielded += len(parts)
    for line in parts:
        line_no += 1
        stop = start + len(line)
        candidate = searcher is None
        if 0 <= next_hit <= stop:
            candidate = True
            next_hit = searcher(region, stop + 1) if stop + 1 < len(region) else -1  # type: ignore[misc]
        if multiline:
            if group and line[:1] in _BLANKS:
                group.append(line)
                group_hit = group_hit or candidate
            else:
                if group:
                    yield _joined(group, max_line, stats), group_no, group_start, group_hit
                group, group_no, group_start, group_hit = [line], line_no, offset + start, candidate
        else:
            if len(line) > max_line:
                stats.truncated += 1
                line = line[:max_line]
            yield line, line_no, offset + start, candidate
        start = stop + 1
    if group:
        yield _joined(group, max_line, stats), group_no, group_start, group_hit


def _hit_lines(
    region: bytes,
    searcher: Searcher,
    line_no: int,
    offset: int,
    max_line: int,
    stats: ReadStats,
    multiline: bool = False,
    tally: list[int] | None = None,
    size: int | None = None,
) -> Iterator[tuple[bytes, int, int, bool]]:
    """The lines the searcher hits in ``region[:size]``; ``tally`` ends as [newlines counted,
    up to where]."""
    if size is None:
        size = len(region)
    pos = 0
    counted_to = 0
    counted = 0
    if tally is None:
        tally = [0, 0]
    while pos < size:
        hit = searcher(region, pos)
        if hit < 0 or hit >= size:
            return
        start = region.rfind(b"\n", 0, hit) + 1
        stop = region.find(b"\n", hit, size)
        if stop < 0:
            stop = size
        if multiline:
            # Widen the hit to its whole group: back to the line it continues, forward over
            # the lines continuing it.
            while start > pos and region[start : start + 1] in _BLANKS:
                start = region.rfind(b"\n", 0, start - 1) + 1
            while stop + 1 < size and region[stop + 1 : stop + 2] in _BLANKS:
                following = region.find(b"\n", stop + 1, size)
                stop = size if following < 0 else following
        newlines = newlines_in(region, counted_to, start)
        line_no += newlines
        counted += newlines
        counted_to = start
        tally[0], tally[1] = counted, counted_to
        stats.yielded += region.count(b"\n", start, stop) + 1
        if multiline:
            line = _joined(region[start:stop].split(b"\n"), max_line, stats)
        else:
            line = region[start:stop]
            if len(line) > max_line:
                stats.truncated += 1
                line = line[:max_line]
        yield line, line_no + 1, offset + start, True
        pos = stop + 1


_BLANKS = (b" ", b"\t")
MAX_GROUP_LINES = 500  # Filebeat's multiline.max_lines: further lines are dropped


def _group_end(buf: bytes) -> int:
    """Where a region may end so that no group of lines is cut: after the last newline that
    is followed, within ``buf``, by a line not starting with white space (0 if none)."""
    newline = buf.rfind(b"\n", 0, len(buf) - 1)
    while newline >= 0 and buf[newline + 1 : newline + 2] in _BLANKS:
        newline = buf.rfind(b"\n", 0, newline)
    return newline + 1


def _joined(lines: list[bytes], max_line: int, stats: ReadStats) -> bytes:
    """One group's lines as one event text: CRs dropped, at most MAX_GROUP_LINES lines and
    ``max_line`` bytes."""
    stats.joined += len(lines) - 1
    if len(lines) > MAX_GROUP_LINES:
        lines = lines[:MAX_GROUP_LINES]
    text = b"\n".join(line[:-1] if line.endswith(b"\r") else line for line in lines)
    if len(text) > max_line:
        stats.truncated += 1
        text = text[:max_line]
    return text
