"""Read an audit log by the records that matter: rules' candidates and process executions.

Most records of an audit log can match no rule, and most process executions neither. Reading
them all in Python costs ~20 µs a record; here the log is read in regions of about 1 MiB of
whole lines (cut before a SYSCALL record, so an event's records stay together), and

- the records a rule may match (:class:`RecordFilter`, from the rules' clauses, their
  hex-encoded forms included) are searched for in C (RE2, :func:`.audit_scout.scout`) over
  the region lower-cased, by a second process reading the file ahead when it is a large
  plain file (:class:`.audit_scout.Scout`): only those records are parsed into events;
- a region whose process executions are all written as the kernel writes them (a SYSCALL
  record of ``execve``/``execveat`` in the layout of kernel/auditsc.c, then, if it succeeded,
  its EXECVE and CWD records in a row: :data:`_REGULAR`, found by one regex pass) is read in
  bulk (:meth:`_AuditReader._bulk`): each execution is checked against the process_creation
  rules' clauses on its text (:class:`ProcessFilter`; one decision per distinct text, since
  a host runs the same commands again and again), its event built at once when one may
  match, else it is only remembered as a possible parent (:class:`LazyProcess`: its image and
  EXECVE line as written, read if a child's event is built);
- any other region is read line by line where it matters (:meth:`_AuditReader._lines`): a
  successful execution in the kernel's layout (:data:`_EXECUTION`) is checked at once, any
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
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import BinaryIO, Protocol

from taintsigma.logs.audit_scout import RecordFilter, Scout, regions, scout
from taintsigma.logs.audit_syscalls import SYSCALL_TABLES
from taintsigma.logs.auditd import (
    TYPE_NAMES,
    AuditdAdapter,
    LazyProcess,
    _timestamp,
    field_value,
    parse_record,
    syscall_name,
)
from taintsigma.logs.common import decode_line
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
_HEADER = re.compile(
    rb"(?:node=(\S+) )?type=([A-Za-z0-9_]+) (?:msg=)?audit\((\d+)(?:\.(\d+))?:(\d+)\):?"
)
_VALUE = rb"(?:\"[^\"\n]*\"|[^\s\"'=][^\s=]*)"
# A SYSCALL record in the kernel's layout (kernel/auditsc.c audit_log_exit), RAW format.
_SYSCALL_BODY = re.compile(
    rb" arch=([0-9a-fA-F]+) syscall=(\d+) (?:per=[0-9a-fA-F]+ )?success=(yes|no) exit=-?\w+"
    rb" a0=\w+ a1=\w+ a2=\w+ a3=\w+ items=\d+ ppid=(\d+) pid=(\d+) auid=\d+ uid=\d+ gid=\d+"
    rb" euid=\d+ suid=\d+ fsuid=\d+ egid=\d+ sgid=\d+ fsgid=\d+ tty=[^\s\"'=]+ ses=\d+ comm="
    + _VALUE
    + rb" exe=("
    + _VALUE
    + rb")(?: subj=[^\s\"'=]+)? key="
    + _VALUE
)
_FIELD_KEYS = (b"node=", b"serial=", b"type=")
# Lines that may open or feed an execution's event, lower-cased (RE2 finds the next one).
_EXEC_LINE = re2_finder(_EXEC_LINE_PATTERN)
_ASCII = rb"\x00-\x09\x0b\x0c\x0e-\x1c\x1e-\x7f"  # but \n, \r and \x1d (ENRICHED)
_VALUE_ASCII = (
    rb'(?:"[\x00-\x09\x0b\x0c\x0e-\x1c\x1e-\x21\x23-\x7f]*"|[^\s"\'=\x80-\xff][^\s=\x80-\xff]*)'
)
_BODY = rb"(?:(?!node=|serial=|type=|msg=')[" + _ASCII + rb"])*"
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
# A successful execution as the kernel writes it, RAW: its SYSCALL (in the layout of
# kernel/auditsc.c), EXECVE and CWD records in a row, one serial, ASCII, no field in a body
# that could stand for a header one. If no rule can match it, it is only remembered as a
# parent (pid, image as written, EXECVE line), exactly as reading its records would.
_EXECUTION = re.compile(
    rb"type=SYSCALL msg=audit\((?P<secs>\d{1,10})(?:\.(?P<frac>\d+))?:(?P<serial>\d+)\): arch=(?:"
    + _EXEC_ARCH
    + rb") (?:per=[0-9a-fA-F]+ )?success=yes exit=-?\w+ a0=\w+ a1=\w+ a2=\w+ a3=\w+ items=\d+"
    rb" ppid=(?P<ppid>\d+) pid=(?P<pid>\d+) auid=\d+ uid=\d+ gid=\d+ euid=\d+ suid=\d+ fsuid=\d+"
    rb" egid=\d+ sgid=\d+ fsgid=\d+ tty=[^\s\"'=\x80-\xff]+ ses=\d+ comm=" + _VALUE_ASCII
    + rb" exe=(?P<exe>" + _VALUE_ASCII + rb")(?: subj=[^\s\"'=\x80-\xff]+)? key=" + _VALUE_ASCII
    + rb"\n(?P<execve>type=EXECVE msg=audit\(\d{1,10}(?:\.\d+)?:(?P=serial)\):" + _BODY
    + rb")\ntype=CWD msg=audit\(\d{1,10}(?:\.\d+)?:(?P=serial)\):" + _BODY + rb"(?=\n|$)"
)  # fmt: skip


class AuditRecord(Mapping[str, object]):
    """One audit record read lazily: its header (and a SYSCALL's execution fields) at once,
    every other field by :func:`parse_record` when first asked for. ``node`` comes from the
    header alone (read_record parses in full a record whose body names a node)."""

    __slots__ = ("_full", "light", "raw")

    def __init__(self, raw: bytes, light: dict[str, object]) -> None:
        self.raw = raw
        self.light = light
        self._full: dict[str, object] | None = None

    def full(self) -> dict[str, object]:
        """Every field, as parse_record reads them."""
        if self._full is None:
            parsed = parse_record(decode_line(self.raw))
            if isinstance(parsed, tuple):
                parsed = parsed[0]
            self._full = parsed if isinstance(parsed, dict) else dict(self.light)
        return self._full

    def get(self, key: str, default: object = None) -> object:
        light = self.light
        if key in light:
            return light[key]
        if key == "node" and self._full is None:
            return default  # read from the header, which has none
        return self.full().get(key, default)

    def __getitem__(self, key: str) -> object:
        light = self.light
        return light[key] if key in light else self.full()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.full())

    def __len__(self) -> int:
        return len(self.full())

    def __contains__(self, key: object) -> bool:
        if key == "node" and self._full is None:
            return key in self.light
        return key in self.light or key in self.full()


def read_record(raw: bytes) -> AuditRecord | None:
    """A line as the assembler sees it (None: a line the adapter yields no event for)."""
    header = _HEADER.match(raw)
    if header is None or raw.endswith(b"\r") or not raw.isascii():
        return _full_record(raw)
    node, kind, secs, frac, serial = header.groups()
    body = raw[header.end() :]
    if any(key in body for key in _FIELD_KEYS) or b"\x1d" in body or b"msg='" in body:
        return _full_record(raw)  # a body field could stand for a header one
    if len(secs) > 10 and _timestamp(secs.decode(), (frac or b"0").decode()) is None:
        return None  # parse_record refuses it (a time beyond year 2286 may be out of range)
    name = kind.decode()
    light: dict[str, object] = {"type": TYPE_NAMES.get(name, name), "serial": int(serial)}
    if node is not None:
        light["node"] = node.decode()
    if light["type"] == "SYSCALL":
        found = _SYSCALL_BODY.fullmatch(body)
        if found is None:
            return _full_record(raw)
        arch, number, success, ppid, pid, exe = (g.decode() for g in found.groups())
        light.update(arch=arch, syscall=number, success=success, ppid=ppid, pid=pid)
        light["exe"] = field_value("exe", exe)
        name = syscall_name(arch, number)
        if name is not None:  # else parse_record sets no SYSCALL either: asked, it is read
            light["SYSCALL"] = name
    return AuditRecord(raw, light)


def _full_record(raw: bytes) -> AuditRecord | None:
    text = decode_line(raw)
    if not text.strip() or text.startswith(("----", "time->")):
        return None
    parsed = parse_record(text)
    if isinstance(parsed, str):
        return None
    fields = parsed[0] if isinstance(parsed, tuple) else parsed
    record = AuditRecord(raw, fields)
    record._full = fields
    return record


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

    The records rules may match are searched for (:func:`.audit_scout.scout`) in a second
    process reading the same file ahead of this one (:class:`.audit_scout.Scout`) when the
    input is a large plain file, else here, region by region."""
    reader = _AuditReader(adapter, records, processes, path, stats, max_line)
    ahead = Scout.start(stream, first, records, chunk_size, max_line)
    try:
        for region, line_no, offset in regions(stream, first, stats, chunk_size, max_line):
            found = ahead.next(offset, len(region)) if ahead is not None else None
            if found is None:
                found = scout(records, region.lower())
            yield from reader.region(region, found, line_no, offset)
    finally:
        if ahead is not None:
            ahead.stop()
    yield from adapter.derived()
    yield from adapter.assembler.flush()


# A SYSCALL record of an exec system call, at a line start; then, when it is in the kernel's
# layout (_EXECUTION's), its fields and, for a successful one, its EXECVE and CWD records in a
# row (one serial, a body of plain pairs: ``own`` and ``args`` are what the process_creation
# rules' clauses search, ``ids`` the pids).
_REGULAR = re.compile(
    rb"type=SYSCALL msg=audit\((?P<secs>\d{1,10})(?:\.(?P<frac>\d+))?:(?P<serial>\d+)\): arch=(?:"
    + _EXEC_ARCH
    + rb") (?:(?:per=[0-9a-fA-F]+ )?success=(?P<ok>yes|no) exit=-?\w+ a0=\w+ a1=\w+ a2=\w+"
    rb" a3=\w+ items=\d+(?P<ids> ppid=(?P<ppid>\d+) pid=(?P<pid>\d+))(?P<own> auid=\d+"
    rb" uid=(?P<uid>\d+) gid=\d+"
    rb" euid=\d+ suid=\d+ fsuid=\d+ egid=\d+ sgid=\d+ fsgid=\d+ tty=[^\s\"'=\x80-\xff]+ ses=\d+"
    rb" comm=" + _VALUE_ASCII + rb" exe=(?P<exe>" + _VALUE_ASCII
    + rb")(?: subj=[^\s\"'=\x80-\xff]+)? key=" + _VALUE_ASCII + rb")\n"
    rb"(?:(?P<execve>type=EXECVE msg=audit\(\d{1,10}(?:\.\d+)?:(?P=serial)\): (?P<args>argc=\d+"
    rb"(?: a\d+=" + _VALUE_ASCII + rb")*))\ntype=CWD msg=audit\(\d{1,10}(?:\.\d+)?:(?P=serial)\):"
    rb" (?P<cwd>cwd=(?P<dir>" + _VALUE_ASCII + rb"))(?:\n|\Z))?)?"
)  # fmt: skip
# Decisions of the process_creation rules' clauses on executions' text (bulk reading).
_MEMO_SIZE = 4096
_PARENT = object()  # the decision depends on the parent


class _AuditReader:
    def __init__(
        self,
        adapter: AuditdAdapter,
        records: RecordFilter,
        processes: ProcessFilter,
        path: str,
        stats: ReadStats,
        max_line: int,
    ) -> None:
        self.adapter = adapter
        self.records = records
        self.processes = processes
        self.path = path
        self.stats = stats
        self.max_line = max_line
        adapter.assemble = False
        self.assembler = adapter.assembler
        self.assembler.wanted = self._wanted
        self._memo: dict[object, object] = {}
        self._key = ("ids", "own", "args", "cwd") if processes.reads_ids else ("own", "args", "cwd")
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
        scouted: tuple[list[tuple[int, int]], bool],
        line_no: int,
        offset: int,
    ) -> Iterator[Event | Unparsed | None]:
        """Read one region, given its :func:`.audit_scout.scout` findings."""
        hits, odd = scouted
        self._region, self._line_no, self._offset = region, line_no, offset
        self._counted_to = self._newlines = 0
        if not odd and not self.assembler.open_events:
            found = list(_REGULAR.finditer(region))
            if _all_regular(region, found):
                yield from self._bulk(hits, found)
                return
        yield from self._lines(region, region.lower(), hits, 0, 0, len(region))

    def _bulk(
        self, hits: list[tuple[int, int]], found: list[re.Match[bytes]]
    ) -> Iterator[Event | Unparsed | None]:
        """A region whose executions are all :data:`_REGULAR`: the records rules may match
        are read, and each execution is only remembered as a parent unless a
        process_creation rule may match it (then its event is built), in the order reading
        every line gives them (a record of an execution comes before its event)."""
        remember, record = self.assembler.remember, self._record
        hit_i, n_hits = 0, len(hits)
        for match in found:
            if match.group("ok") == b"no":
                continue  # a failed exec: no event, no process
            start, end = match.span()
            while hit_i < n_hits and hits[hit_i][0] < start:
                yield from record(*hits[hit_i])
                hit_i += 1
            if not self._may_run(match):
                remember(match.group("pid").decode(), LazyProcess(*match.group("exe", "execve")))
                continue
            origin = self._origin(start)
            while hit_i < n_hits and hits[hit_i][0] < end:
                yield from record(*hits[hit_i])
                hit_i += 1
            yield self._event(match, origin)
        for hit in hits[hit_i:]:
            yield from record(*hit)

    def _may_run(self, match: re.Match[bytes]) -> bool:
        """Whether a process_creation rule may match a :data:`_REGULAR` execution, by its
        text (``own``, ``args``, ``cwd``; ``ids`` when a clause names them): one decision
        per text, its parent's text read when a decision needs it."""
        memo = self._memo
        parts = match.group(*self._key)
        decision = memo.get(parts)
        if decision is _PARENT:  # decided by the text and the parent's
            parent = self._parent_text(match.group("ppid").decode())
            decision = memo.get((parts, parent))
            if decision is None:
                decision = self.processes(_execution_text(parts), lambda: parent)
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                memo[(parts, parent)] = decision
            return decision  # type: ignore[return-value]
        if decision is None:
            asked = []

            def parent_text() -> bytes | None:
                asked.append(True)
                return self._parent_text(match.group("ppid").decode())

            decision = self.processes(_execution_text(parts), parent_text)
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[parts] = _PARENT if asked else decision
        return decision  # type: ignore[return-value]

    def _event(self, match: re.Match[bytes], origin: Location) -> Event:
        """The process_creation event of a :data:`_REGULAR` execution, as the assembler
        builds it from the records."""
        secs, frac, serial, pid, ppid, uid, exe, args, cwd = (
            match.group("secs", "frac", "serial", "pid", "ppid", "uid", "exe", "args", "dir")
        )
        fields: dict[str, object] = {
            "@timestamp": _timestamp(secs.decode(), (frac or b"0").decode()),
            "serial": int(serial),
            "Image": field_value("exe", exe.decode()),
            "CommandLine": _command_line(args),
            "ProcessId": pid.decode(),
            "ParentProcessId": ppid.decode(),
            "User": uid.decode(),
            "CurrentDirectory": field_value("cwd", cwd.decode()),
        }
        return self.assembler.execution(fields, origin)

    def _record(self, start: int, stop: int) -> Iterator[Event | Unparsed | None]:
        """A record a rule may match, outside any execution being read."""
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
                execution = _EXECUTION.match(region, next_exec, size) if next_exec >= 0 else None
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
                    pos = end + 1
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
    the header ``type=SYSCALL msg=audit(``: :data:`_ODD_HEADER`) are all its exec system
    calls, each at a line start in the kernel's layout, a successful one with its EXECVE and
    CWD records, and hold every EXECVE record of the region."""
    execves = 0
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
    return region.count(b"type=EXECVE ") == execves


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
