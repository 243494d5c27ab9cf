"""Read an audit log by the records that matter: rules' candidates and process executions.

Most records of an audit log can match no rule, and most process executions neither. Reading
them all in Python costs ~20 µs a record; here the log is read in regions of about 1 MiB of
whole lines (cut before a SYSCALL record, so an event's records stay together), and

- the records a rule may match (:class:`RecordFilter`, from the rules' clauses, their
  hex-encoded forms included) are searched for in C (RE2, :func:`.audit_scout.scout`) over
  the region lower-cased, by a second process reading the file ahead when it is a large
  plain file (:class:`.audit_scout.Scout`): only those records are parsed into events;
- a region whose process executions are all written as the kernel writes them (a SYSCALL
  record of ``execve``/``execveat`` in the layout of kernel/auditsc.c, RAW or ENRICHED, then,
  if it succeeded, its EXECVE and CWD records in a row: :data:`_REGULAR`, found by one regex
  pass) is read in bulk (:meth:`_AuditReader._bulk`): each execution is checked against the
  process_creation rules' clauses on its text (:class:`ProcessFilter`; one decision per
  distinct text, since a host runs the same commands again and again), its event built at
  once when one may match, else it is only remembered as a possible parent
  (:class:`LazyProcess`: its image and EXECVE line as written, read if a child's event is
  built);
- any other region is read line by line where it matters (:meth:`_AuditReader._lines`): a
  successful execution in the kernel's layout (:func:`_execution`) is checked at once, any
  other is read a record at a time (:func:`read_record`: the header, and for a SYSCALL record
  in the kernel's layout the few fields an execution needs, as :func:`parse_record` would
  read them; other records in full) and fed to the :class:`AuditAssembler`, whose ``wanted``
  test makes the same check before an event is built. While an event is open (its records
  interleaved with other events', or cut by the end of a region) every line is read lightly
  until none is.

The events built, and the order of what is yielded, are those of reading every line
(``AuditdAdapter.parse`` plus the assembler): tests/test_scan_audit_fast.py compares them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from typing import Any, BinaryIO, Protocol

from taintsigma.logs.audit_records import AuditRecord, read_record
from taintsigma.logs.audit_scout import RecordFilter, Scout, regions, scout
from taintsigma.logs.audit_syscalls import SYSCALL_TABLES
from taintsigma.logs.auditd import (
    _PAIR,
    AuditdAdapter,
    LazyProcess,
    _timestamp,
    _unquote,
    field_value,
)
from taintsigma.logs.event import Event, Location, Unparsed
from taintsigma.logs.reader import CHUNK_SIZE, MAX_LINE, ReadStats, re2_finder


class ProcessFilter(Protocol):
    parent_anchored: list[int]  # rules that may match whatever an execution's own text holds
    reads_ids: bool  # whether a rule's clause names a process id

    def search(self, lowered: bytes, pos: int, end: int | None = None) -> int:
        """Where, at or after ``pos``, the next text an execution rules may match starts."""

    def __call__(self, own: bytes, parent: Callable[[], bytes | None]) -> bool:
        """Whether a process_creation rule may match an execution whose records' raw text
        (lower-cased, one record a line) is ``own``; ``parent()`` gives its parent's image and
        command line (lower-cased, one a line), None when no parent is known."""


_EXEC_NUMBERS = sorted(
    {
        number
        for _, table in SYSCALL_TABLES.values()
        for number, name in zip(table.split()[::2], table.split()[1::2], strict=True)
        if name in ("execve", "execveat")
    },
    key=int,
)
# Lines that may open or feed an execution's event, lower-cased: EXECVE records and SYSCALL
# records naming an exec system call (by number on any architecture, or by name).
_EXEC_LINE_PATTERN = (
    rb"type=(?:execve|1309) |syscall=\"?(?:"
    + b"|".join(n.encode() for n in _EXEC_NUMBERS)
    + rb"|execve|execveat)(?:[\" \x1d\n]|$)"
)
# Lines that may open or feed an execution's event, lower-cased (RE2 finds the next one).
_EXEC_LINE = re2_finder(_EXEC_LINE_PATTERN)
_VALUE_ASCII = (
    rb'(?:"[\x00-\x09\x0b\x0c\x0e-\x1c\x1e-\x21\x23-\x7f]*"|[^\s"\'=\x80-\xff][^\s=\x80-\xff]*)'
)
_EXEC_ARCH = rb"|".join(
    rb"(?i:" + arch.encode() + rb") syscall=(?:" + b"|".join(numbers) + rb")"
    for arch, numbers in sorted(
        {
            arch: [n.encode() for n, name in zip(t.split()[::2], t.split()[1::2], strict=True)
                   if name in ("execve", "execveat")]
            for arch, (_, t) in SYSCALL_TABLES.items()
        }.items()
    )
)  # fmt: skip
def scan_audit(
    stream: BinaryIO,
    first: bytes,
    adapter: AuditdAdapter,
    records: RecordFilter,
    processes: ProcessFilter,
    *,
    path: str,
    stats: ReadStats,
    chunk_size: int = CHUNK_SIZE,
    max_line: int = MAX_LINE,
) -> Iterator[Event | Unparsed | None]:
    """Yield the record events rules may match (None for a blank line among them), notes on
    damaged records, and the process_creation events rules may match, in the order reading
    every line gives them.

    Each region is surveyed (:class:`_Survey`: the records rules may match, and whether and
    how its executions can be read in bulk) in a second process reading the same file ahead
    of this one (:class:`.audit_scout.Scout`) when the input is a large plain file, else
    here."""
    reader = _AuditReader(adapter, processes, path, stats, max_line)
    survey = _Survey(records, processes)
    ahead = Scout.start(stream, first, survey, chunk_size, max_line)
    try:
        for region, line_no, offset in regions(stream, first, stats, chunk_size, max_line):
            found = ahead.next(offset, len(region)) if ahead is not None else None
            yield from reader.region(region, found or survey(region), line_no, offset)
    finally:
        if ahead is not None:
            ahead.stop()
    yield from adapter.derived()
    yield from adapter.assembler.flush()


# A field auditd's ENRICHED format adds after \x1d (upper-case names: none stands for a
# kernel field, but SYSCALL and UID, read as parse_record reads them).
_ENRICHED_PAIR = rb'[A-Z][A-Z0-9_]*=(?:"[^"\n\x80-\xff]*"|[^\s"\'=\x80-\xff]*)'
# A SYSCALL record of an exec system call, at a line start; then, when it is in the kernel's
# layout (kernel/auditsc.c, RAW or ENRICHED, ASCII), its fields and, for a successful one,
# its EXECVE and CWD records in a row (one serial, a body of plain pairs, so no field of
# theirs can stand for a header one: ``own`` and ``args`` are what the process_creation
# rules' clauses search, ``ids`` the pids).
_REGULAR = re.compile(
    rb"type=SYSCALL msg=audit\((?P<secs>\d{1,10})(?:\.(?P<frac>\d+))?:(?P<serial>\d+)\): arch=(?:"
    + _EXEC_ARCH
    + rb") (?:(?:per=[0-9a-fA-F]+ )?success=(?P<ok>yes|no) exit=-?\w+ a0=\w+ a1=\w+ a2=\w+"
    rb" a3=\w+ items=\d+(?P<ids> ppid=(?P<ppid>\d+) pid=(?P<pid>\d+))(?P<own> auid=\d+"
    rb" uid=(?P<uid>\d+) gid=\d+"
    rb" euid=\d+ suid=\d+ fsuid=\d+ egid=\d+ sgid=\d+ fsgid=\d+ tty=[^\s\"'=\x80-\xff]+ ses=\d+"
    rb" comm=" + _VALUE_ASCII + rb" exe=(?P<exe>" + _VALUE_ASCII
    + rb")(?: subj=[^\s\"'=\x80-\xff]+)? key=" + _VALUE_ASCII
    + rb"(?P<enriched>\x1d" + _ENRICHED_PAIR + rb"(?: " + _ENRICHED_PAIR + rb")*)?)\n"
    rb"(?:(?P<execve>type=EXECVE msg=audit\(\d{1,10}(?:\.\d+)?:(?P=serial)\): (?P<args>argc=\d+"
    rb"(?: a\d+=" + _VALUE_ASCII + rb")*))\ntype=CWD msg=audit\(\d{1,10}(?:\.\d+)?:(?P=serial)\):"
    rb" (?P<cwd>cwd=(?P<dir>" + _VALUE_ASCII + rb"))(?:\n|\Z))?)?"
)  # fmt: skip
# Decisions of the process_creation rules' clauses on executions' text (bulk reading).
_MEMO_SIZE = 4096


# What a survey says of a region's executions, in order (failed ones left out), each entry
# a triple:
_ONLY_PARENTS = 0  # (0, pids, (exe, EXECVE line) as written): no rule may match these
_MAY_RUN = 1  # (1, start, parts): a process_creation rule may match this one
_ASK_PARENT = 2  # (2, start, parts): whether one may depends on its parent's text

Hits = list[tuple[int, int]]
Executions = list[tuple[int, Any, Any]]


class _Survey:
    """What the reader needs to know of a region, from its bytes alone (so a second process
    can work it out ahead): the lines (start, end) whose record a rule may match
    (:func:`.audit_scout.scout`), and, when the region's executions are all
    :data:`_REGULAR`, each one's verdict on the process_creation rules' clauses (None when
    the region is to be read line by line).

    A verdict is kept per execution text (``parts``: ``own``, ``args``, ``cwd``; ``ids``
    first when a clause names a process id), since a host runs the same commands again and
    again; one that needs the parent's text is left to the reader."""

    def __init__(self, records: RecordFilter, processes: ProcessFilter) -> None:
        self.records = records
        self.processes = processes
        self.keys = ("ids", "own", "args", "cwd") if processes.reads_ids else ("own", "args", "cwd")
        self._memo: dict[tuple[bytes, ...], int] = {}

    def __call__(self, region: bytes) -> tuple[Hits, Executions | None]:
        hits, odd = scout(self.records, region.lower())
        if odd:
            return hits, None
        found = list(_REGULAR.finditer(region))
        if not _all_regular(region, found):
            return hits, None
        executions: Executions = []
        pids: list[str] = []
        parents: list[tuple[bytes, bytes]] = []
        memo, keys = self._memo, self.keys
        for match in found:
            if match.group("ok") == b"no":
                continue  # a failed exec: no event, no process
            parts = match.group(*keys)
            verdict = memo.get(parts)
            if verdict is None:
                verdict = self._verdict(parts)
            if verdict == _ONLY_PARENTS:
                exe, execve = match.group("exe", "execve")
                pids.append(match.group("pid").decode())
                parents.append((exe, execve))
                continue
            if pids:
                executions.append((_ONLY_PARENTS, pids, parents))
                pids, parents = [], []
            executions.append((verdict, match.start(), parts))
        if pids:
            executions.append((_ONLY_PARENTS, pids, parents))
        return hits, executions

    def _verdict(self, parts: tuple[bytes, ...]) -> int:
        asked = []

        def parent() -> None:
            asked.append(True)

        text, processes = _execution_text(parts), self.processes
        if processes.search(text, 0) < 0 and not processes.parent_anchored:
            verdict = _ONLY_PARENTS  # no rule's first clause is there (the cheap test)
        else:
            may = processes(text, parent)
            verdict = _ASK_PARENT if asked else _MAY_RUN if may else _ONLY_PARENTS
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        self._memo[parts] = verdict
        return verdict


class _AuditReader:
    def __init__(
        self,
        adapter: AuditdAdapter,
        processes: ProcessFilter,
        path: str,
        stats: ReadStats,
        max_line: int,
    ) -> None:
        self.adapter = adapter
        self.processes = processes
        self.path = path
        self.stats = stats
        self.max_line = max_line
        adapter.assemble = False
        self.assembler = adapter.assembler
        self.assembler.wanted = self._wanted
        self._memo: dict[tuple[tuple[bytes, ...], bytes | None], bool] = {}
        self._region = b""
        self._line_no = self._offset = self._counted_to = self._newlines = 0

    def _wanted(self, group: dict[str, object], parent: Callable[[], object]) -> bool:
        own = b"\n".join(
            record.raw.lower()
            for name in ("syscall", "execve", "cwd")
            if isinstance(record := group.get(name), AuditRecord)
        )
        return self.processes(own, lambda: _process_text(parent()))

    def _parent_text(self, ppid: str) -> bytes | None:
        return _process_text(self.assembler.process(ppid))

    def _origin(self, start: int) -> Location:
        """Where the line starting at ``start`` of the region is (lines are asked in order)."""
        self._newlines += self._region.count(b"\n", self._counted_to, start)
        self._counted_to = start
        line = self._line_no + self._newlines + 1
        return Location(path=self.path, line=line, offset=self._offset + start)

    def region(
        self,
        region: bytes,
        surveyed: tuple[Hits, Executions | None],
        line_no: int,
        offset: int,
    ) -> Iterator[Event | Unparsed | None]:
        """Read one region, given its :class:`_Survey`."""
        hits, executions = surveyed
        self._region, self._line_no, self._offset = region, line_no, offset
        self._counted_to = self._newlines = 0
        if executions is not None and not self.assembler.open_events:
            yield from self._bulk(region, hits, executions)
        else:
            yield from self._lines(region, region.lower(), hits, 0, 0, len(region))

    def _bulk(
        self, region: bytes, hits: Hits, executions: Executions
    ) -> Iterator[Event | Unparsed | None]:
        """A region whose executions are all :data:`_REGULAR`: the records rules may match
        are read, and each execution is only remembered as a parent unless a
        process_creation rule may match it (then its event is built), in the order reading
        every line gives them (a record of an execution comes before its event)."""
        assembler, record = self.assembler, self._record
        hit_i, n_hits = 0, len(hits)
        next_hit = hits[0][0] if hits else len(region)
        for verdict, first, second in executions:
            if verdict == _ONLY_PARENTS:
                assembler.remember_all(first, second)
                continue
            start, parts = first, second
            while next_hit < start:
                yield from record(*hits[hit_i])
                hit_i += 1
                next_hit = hits[hit_i][0] if hit_i < n_hits else len(region)
            match = _REGULAR.match(region, start)
            assert match is not None, "the survey found it there"
            if verdict == _ASK_PARENT and not self._with_parent(match, parts):
                exe, execve = match.group("exe", "execve")
                assembler.remember(match.group("pid").decode(), LazyProcess(exe, execve))
                continue
            origin, end = self._origin(start), match.end()
            while next_hit < end:
                yield from record(*hits[hit_i])
                hit_i += 1
                next_hit = hits[hit_i][0] if hit_i < n_hits else len(region)
            yield self._event(match, origin)
        for hit in hits[hit_i:]:
            yield from record(*hit)

    def _with_parent(self, match: re.Match[bytes], parts: tuple[bytes, ...]) -> bool:
        """Whether a process_creation rule may match an execution of these ``parts`` whose
        verdict depends on its parent's text: one decision per (text, parent's text)."""
        parent = self._parent_text(match.group("ppid").decode())
        decision = self._memo.get((parts, parent))
        if decision is None:
            decision = self.processes(_execution_text(parts), lambda: parent)
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[(parts, parent)] = decision
        return decision

    def _event(self, match: re.Match[bytes], origin: Location) -> Event:
        """The process_creation event of a :data:`_REGULAR` execution, as the assembler
        builds it from the records."""
        secs, frac, serial, pid, ppid, uid, exe, args, cwd, enriched = match.group(
            "secs", "frac", "serial", "pid", "ppid", "uid", "exe", "args", "dir", "enriched"
        )
        user = _enriched(enriched).get("UID") if enriched else None
        fields: dict[str, object] = {
            "@timestamp": _timestamp(secs.decode(), (frac or b"0").decode()),
            "serial": int(serial),
            "Image": field_value("exe", exe.decode()),
            "CommandLine": _command_line(args),
            "ProcessId": pid.decode(),
            "ParentProcessId": ppid.decode(),
            "User": user or uid.decode(),
            "CurrentDirectory": field_value("cwd", cwd.decode()),
        }
        return self.assembler.execution(fields, origin)

    def _record(self, start: int, stop: int) -> Iterator[Event | Unparsed | None]:
        """The record of a line a rule may match, parsed (a bulk-read region's)."""
        line = self._region[start:stop]
        if len(line) > self.max_line:
            self.stats.truncated += 1
            line = line[: self.max_line]
        self.stats.yielded += 1
        yield self.adapter.parse(line, self._origin(start))  # None: a blank line
        yield from self.adapter.derived()

    def _lines(
        self,
        region: bytes,
        lowered: bytes,
        hits: list[tuple[int, int]],
        hit_i: int,
        pos: int,
        size: int,
    ) -> Generator[Event | Unparsed | None, None, int]:
        """Read ``region[pos:size]`` (whole lines) line by line where it matters: the records
        a rule may match (``hits`` from ``hit_i`` on), and the lines of executions; returns
        the index of the first hit not read."""
        processes, assembler, adapter = self.processes, self.assembler, self.adapter
        n_hits = len(hits)
        next_exec = -2  # line start of the next execution line (-2: not searched yet)
        next_process = -2  # where the next text a process_creation rule may match is
        execution: re.Match[bytes] | None = None  # found at next_exec, read at once
        while pos < size:
            next_record = hits[hit_i][0] if hit_i < n_hits and hits[hit_i][0] < size else -1
            if assembler.open_events:
                next_exec, execution = pos, None  # an event is open: every line may be its
            elif next_exec < pos and next_exec != -1:
                next_exec = _line_start(lowered, _EXEC_LINE(lowered, pos, size))
                execution = _execution(region, next_exec, size) if next_exec >= 0 else None
            starts = [s for s in (next_record, next_exec) if s >= 0]
            if not starts:
                break
            start = min(starts)
            if start == next_exec and execution is not None:
                end = execution.end()
                if next_process < start and next_process != -1:
                    next_process = processes.search(lowered, start, size)
                if not start <= next_record < end and not self._may_match(
                    execution, lowered, next_process
                ):
                    # no rule may match it, nor its records: only remembered as a parent
                    exe, execve = execution.group("exe", "execve")
                    assembler.remember(execution.group("pid").decode(), LazyProcess(exe, execve))
                    pos = end
                    continue
            stop = lowered.find(b"\n", start, size)
            if stop < 0:
                stop = size
            origin = self._origin(start)
            line = region[start:stop]
            if len(line) > self.max_line:
                self.stats.truncated += 1
                line = line[: self.max_line]
            if start == next_record:
                hit_i += 1
                self.stats.yielded += 1
                yield adapter.parse(line, origin)  # None: a blank line, counted as such
                yield from adapter.derived()
            if start == next_exec:
                record = read_record(line)
                if record is not None:
                    yield from assembler.add(record, origin)
            pos = stop + 1
        return hit_i

    def _may_match(self, execution: re.Match[bytes], lowered: bytes, hit: int) -> bool:
        """Whether a process_creation rule may match an execution read at once (its
        processes' search ``hit`` at or after its start)."""
        start, end = execution.span()
        if not start <= hit < end and not self.processes.parent_anchored:
            return False
        ppid = execution.group("ppid").decode()
        return self.processes(lowered[start:end], lambda: self._parent_text(ppid))


def _execution_text(parts: tuple[bytes, ...]) -> bytes:
    """The text process_creation rules' clauses search, of a :data:`_REGULAR` execution's
    parts (``own``, ``args``, ``cwd``, ``ids`` first when asked for): lower-cased, one
    record a line, its EXECVE record's header written ``type=execve`` (where their
    command-line patterns look), no other header (no field of theirs is there)."""
    *own, args, cwd = parts
    return b"".join((*own, b"\ntype=execve ", args, b"\n", cwd)).lower()


def _execution(region: bytes, start: int, size: int) -> re.Match[bytes] | None:
    """A successful execution read at once (:data:`_REGULAR`, a successful one with its
    EXECVE and CWD records, an exec as parse_record reads it) at ``start``, else None."""
    found = _REGULAR.match(region, start, size)
    if found is None or found.group("ok") != b"yes" or found.group("execve") is None:
        return None
    enriched = found.group("enriched")
    if enriched and _enriched(enriched).get("SYSCALL", "execve") not in _EXEC_NAMES:
        return None
    return found


_ARGUMENT = re.compile(rb" (a\d+)=(" + _VALUE_ASCII + rb")")


def _command_line(args: bytes) -> str:
    """The command line of a :data:`_REGULAR` EXECVE body, as record_text gives it from the
    parsed record: its arguments a0, a1 … (while there is one) decoded, joined by spaces."""
    values = dict(_ARGUMENT.findall(args))
    found: list[str] = []
    while (value := values.get(b"a%d" % len(found))) is not None:
        found.append(field_value(f"a{len(found)}", value.decode(), True))
    return " ".join(found)


def _all_regular(region: bytes, found: list[re.Match[bytes]]) -> bool:
    """Whether ``found`` (:data:`_REGULAR` in ``region``, whose SYSCALL records all have
    the header ``type=SYSCALL msg=audit(``: :data:`.audit_scout.ODD_HEADER`) are all its exec system
    calls, each at a line start in the kernel's layout, a successful one with its EXECVE and
    CWD records, and hold every EXECVE record of the region."""
    execves = named = 0
    for match in found:
        start = match.start()
        if start and region[start - 1] != 0x0A:
            return False
        if match.group("own") is None:
            return False
        if match.group("execve") is not None:
            execves += 1
        elif match.group("ok") == b"yes":
            return False
        enriched = match.group("enriched")
        if enriched:
            name = _enriched(enriched).get("SYSCALL")
            if name is not None and name not in _EXEC_NAMES:
                return False  # named otherwise: no exec as parse_record reads it
            named += name in _EXEC_NAMES
    # every ENRICHED record naming an exec system call is one of found
    if b"\x1d" in region and region.count(b"SYSCALL=execve") != named:
        return False
    return region.count(b"type=EXECVE ") == execves


_EXEC_NAMES = ("execve", "execveat")


def _enriched(text: bytes) -> dict[str, str]:
    """The ENRICHED fields after a record's \\x1d, as parse_record reads them."""
    return {key: _unquote(value)[0] for key, value in _PAIR.findall(text[1:].decode())}


def _process_text(found: object) -> bytes | None:
    """A remembered process's image and command line, lower-cased, one a line (its
    EXECVE line as written when not read)."""
    if isinstance(found, LazyProcess):
        execve = found.execve
        if isinstance(execve, bytes):
            command = execve
        elif isinstance(execve, AuditRecord):
            command = execve.raw
        else:
            command = found.resolve()[1].encode("utf-8", "replace")
        return found.image.encode("utf-8", "replace").lower() + b"\n" + command.lower()
    if isinstance(found, tuple):
        return "\n".join(found).encode("utf-8", "replace").lower()
    return None


def _line_start(lowered: bytes, hit: int) -> int:
    return -1 if hit < 0 else lowered.rfind(b"\n", 0, hit) + 1
