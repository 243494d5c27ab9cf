"""Linux audit records (``audit.log``, ``ausearch --raw``) → events in auditd's own field names.

A record is one line ``[node=HOST ]type=TYPE msg=audit(EPOCH.MILLIS:SERIAL): key=value …``
(Red Hat, *Security hardening*, "Understanding Audit log files"; auditd(8) ``log_format``):

- each ``key=value`` becomes a field of that name, as SigmaHQ's ``service: auditd`` rules
  expect (``type``, ``a0``…``aN``, ``exe``, ``comm``, ``key``, ``name``, ``cwd``, ``proctitle``,
  ``euid``, ``unit`` …); quotes are removed and values stay text;
- values the kernel hex-encodes (those holding a space, a quote, a control or non-ASCII
  character: ``audit_log_untrustedstring`` in kernel/audit.c) are decoded in the fields that
  carry untrusted strings; ``proctitle``'s NUL-separated arguments are joined with spaces and
  an EXECVE argument split in pieces (``a1_len=… a1[0]=… a1[1]=…``) is put back together;
- user-space records nest their fields in ``msg='…'`` (``unit=``, ``cmd=`` …): those become
  fields of the record too;
- the ENRICHED log format appends, after a ``\\x1d`` separator, the interpreted names in upper
  case (``ARCH=x86_64 SYSCALL=execve AUID="alice"``); for RAW logs ``SYSCALL`` (the name, which
  the rules compare) is looked up from ``arch`` and ``syscall`` (audit_syscalls.py);
- ``@timestamp`` and ``serial`` come from ``msg=audit(EPOCH:SERIAL)``; records of one event share
  the serial, which links them, and :class:`AuditAssembler` joins the records of a successful
  ``execve`` into a Sigma ``process_creation`` event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache

import re2

from taintsigma.logs.audit_syscalls import SYSCALL_TABLES
from taintsigma.logs.base import Adapter
from taintsigma.logs.common import decode_line, format_timestamp
from taintsigma.logs.event import Event, Location, LogSourceKey, Unparsed

AUDITD = LogSourceKey(product="linux", service="auditd")
PROCESS_CREATION = LogSourceKey(product="linux", category="process_creation")

# [node=HOST ]type=NAME msg=audit(EPOCH[.MILLIS]:SERIAL): (kernel printk form: type=1300 audit(…))
HEADER = re.compile(
    r"(?:node=(?P<node>\S+) )?type=(?P<type>[A-Za-z0-9_]+) (?:msg=)?"
    r"audit\((?P<secs>\d+)(?:\.(?P<frac>\d+))?:(?P<serial>\d+)\):?"
)
# ausearch -i writes the time as a local date and values interpreted (unquoted, spaces
# inside): not reliably split into fields.
_INTERPRETED = re.compile(r"type=\S+ msg=audit\(\d\d/\d\d/\d{4} ")
_PAIR = re.compile(r"([^\s=]+)=(\"[^\"]*\"?|'[^']*'?|\S*)")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")
# Fields whose value auditd writes quoted, or hex-encoded when it holds special characters
# (libauparse's escaped field types; EXECVE's aN are handled by record type).
ESCAPED = frozenset(
    {
        "name", "path", "exe", "comm", "cwd", "dir", "file", "key", "proctitle", "acct",
        "cmd", "data", "ocomm", "new", "old", "watch", "vm", "old-vm", "new-vm", "sig",
        "root_dir", "grp", "new_group", "id",
    }
)  # fmt: skip
# Numeric record types as the kernel prints them without auditd (``type=1300 audit(…)``),
# from linux/audit.h; the others keep their number.
TYPE_NAMES = {
    "1100": "USER_AUTH", "1101": "USER_ACCT", "1103": "CRED_ACQ", "1104": "CRED_DISP",
    "1105": "USER_START", "1106": "USER_END", "1110": "CRED_REFR", "1112": "USER_LOGIN",
    "1123": "USER_CMD", "1130": "SERVICE_START", "1131": "SERVICE_STOP", "1300": "SYSCALL",
    "1302": "PATH", "1305": "CONFIG_CHANGE", "1306": "SOCKADDR", "1307": "CWD",
    "1309": "EXECVE", "1320": "EOE", "1325": "NETFILTER_CFG", "1327": "PROCTITLE",
    "1400": "AVC", "1006": "LOGIN", "1702": "ANOM_ABEND",
}  # fmt: skip
_EXEC_SYSCALLS = frozenset({"execve", "execveat"})
_ARGUMENT = re.compile(r"a\d+")
_SYSCALL_NAMES: dict[str, dict[str, str]] = {}


def syscall_name(arch: str, number: str) -> str | None:
    """The name of system call ``number`` on audit architecture ``arch`` (None if unknown).

    >>> syscall_name("c000003e", "59")
    'execve'
    """
    table = _SYSCALL_NAMES.get(arch)
    if table is None:
        entry = SYSCALL_TABLES.get(arch.lower())
        if entry is None:
            return None
        words = entry[1].split()
        table = _SYSCALL_NAMES[arch] = dict(zip(words[::2], words[1::2], strict=True))
    return table.get(number)


def decode_hex(value: str, nul: str = " ") -> str | None:
    """Decode an auditd hex-encoded value (NULs become ``nul``); None when it is not hex.

    >>> decode_hex("2F62696E2F7368002D63")
    '/bin/sh -c'
    """
    if len(value) % 2 or not _HEX.fullmatch(value):
        return None
    text = bytes.fromhex(value).decode("utf-8", "replace")
    return text.rstrip("\x00").replace("\x00", nul)


# (secs, frac, @timestamp) of the last record: one tuple, replaced whole (thread-safe reads)
_last_stamp: tuple[str, str, str] = ("", "", "")


def _timestamp(secs: str, frac: str) -> str | None:
    """``@timestamp`` of ``msg=audit(SECS.FRAC:…)``; the records of one event share it."""
    global _last_stamp
    last = _last_stamp
    if last[0] == secs and last[1] == frac:
        return last[2]
    micros = int((frac + "000000")[:6])
    try:
        moment = datetime.fromtimestamp(int(secs), UTC).replace(microsecond=micros)
    except (OverflowError, OSError, ValueError):
        return None
    stamp = format_timestamp(moment)
    _last_stamp = (secs, frac, stamp)
    return stamp


def _unquote(value: str) -> tuple[str, bool]:
    """The value without its quotes, and whether it was quoted."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1], True
    if value[:1] in ("\"", "'"):
        return value[1:], True  # cut short: keep what there is
    return value, False


def parse_record(text: str) -> dict[str, object] | tuple[dict[str, object], str] | str:
    """One audit record (its text) → its fields, or the reason it is not an audit record.

    A record with a damaged value comes back as ``(fields, what is wrong)``: the event is kept.

    >>> fields = parse_record('type=EXECVE msg=audit(1700000000.123:42): argc=2 a0="ls" a1=2D6C61')
    >>> fields["type"], fields["serial"], fields["a0"], fields["a1"], fields["@timestamp"]
    ('EXECVE', 42, 'ls', '-la', '2023-11-14T22:13:20.123Z')
    """
    header = HEADER.search(text)
    if header is None:
        if _INTERPRETED.search(text):
            return "interpreted record (ausearch -i): read ausearch --raw output instead"
        return "not an audit record (no type=… msg=audit(…))"
    kind = header["type"]
    kind = TYPE_NAMES.get(kind, kind)
    fields: dict[str, object] = {"type": kind}
    if header["node"]:
        fields["node"] = header["node"]
    stamp = _timestamp(header["secs"], header["frac"] or "0")
    if stamp is None:
        return f"invalid time in msg=audit({header['secs']}…)"
    fields["@timestamp"] = stamp
    fields["serial"] = int(header["serial"])
    body = text[header.end() :]
    raw, _, enriched = body.partition("\x1d")
    execve = kind == "EXECVE"
    broken: list[str] = []
    _read_pairs(raw, fields, execve, broken)
    if execve:
        _join_pieces(fields)
    for key, value in _PAIR.findall(enriched):
        fields[key] = _unquote(value)[0]
    if kind == "SYSCALL" and "SYSCALL" not in fields:
        arch, number = fields.get("arch"), fields.get("syscall")
        if isinstance(arch, str) and isinstance(number, str):
            name = syscall_name(arch, number)
            if name is not None:
                fields["SYSCALL"] = name
    if broken:
        return fields, f"value of {', '.join(broken)} neither quoted nor hex-encoded (kept as written)"
    return fields


def _read_pairs(text: str, fields: dict[str, object], execve: bool, broken: list[str]) -> None:
    for key, value in _PAIR.findall(text):
        if key == "msg" and value[:1] == "'":
            # a user-space record: its own fields live inside msg='…'
            _read_pairs(_unquote(value)[0], fields, False, broken)
            continue
        plain = field_value(key, value, execve, broken)
        if key == "key" and "\x01" in plain:
            fields[key] = plain.split("\x01")  # several rule keys, joined by \x01
            continue
        fields[key] = plain


def field_value(key: str, value: str, execve: bool = False, broken: list[str] | None = None) -> str:
    """A value as written after ``key=`` → its text: unquoted, or hex-decoded for the fields
    auditd hex-encodes (a value neither quoted nor hex is kept as written, its key added to
    ``broken``)."""
    plain, quoted = _unquote(value)
    if (
        not quoted
        and (key in ESCAPED or (execve and key[:1] == "a" and key != "argc"))
        and plain not in ("", "(null)", "?")
        and not (execve and key.endswith("_len"))
    ):
        decoded = decode_hex(plain, " " if key == "proctitle" else "\x00")
        if decoded is None:
            if broken is not None:
                broken.append(key)  # neither quoted nor hex: kept as written
        else:
            plain = decoded
    return plain


def _join_pieces(fields: dict[str, object]) -> None:
    """Put back EXECVE arguments longer than a record allows: ``aN[0]``, ``aN[1]`` … → ``aN``."""
    pieces = [key for key in fields if key.endswith("]") and "[" in key]
    if not pieces:
        return
    grouped: dict[str, list[tuple[int, str]]] = {}
    for key in pieces:
        name, _, index = key[:-1].partition("[")
        if index.isdigit():
            grouped.setdefault(name, []).append((int(index), str(fields.pop(key))))
    for name, parts in grouped.items():
        fields[name] = "".join(part for _, part in sorted(parts))
        fields.pop(f"{name}_len", None)


def record_text(fields: Mapping[str, object]) -> str:
    """The EXECVE record's arguments as one command line (``a0 a1 …``)."""
    args = []
    while (value := fields.get(f"a{len(args)}")) is not None:
        args.append(str(value))
    return " ".join(args)


class AuditAssembler:
    """Links the records of one event (same serial) and builds ``process_creation`` events.

    A successful ``execve``/``execveat`` with its SYSCALL and EXECVE records becomes one event
    in Sigma's process_creation names, as Sysmon for Linux writes them: ``Image`` (``exe``),
    ``CommandLine`` (the arguments joined by spaces), ``CurrentDirectory`` (CWD), ``User``
    (the enriched ``UID`` name, else the uid), ``ProcessId``, ``ParentProcessId``, and
    ``ParentImage``/``ParentCommandLine`` when the parent's own execve was seen earlier. An
    event is complete at its CWD, PROCTITLE or EOE record; records of several events may
    interleave, so up to ``MAX_OPEN`` events stay open (the oldest is completed first).
    """

    MAX_OPEN = 64
    MAX_PROCESSES = 65536

    def __init__(self) -> None:
        self._open: dict[tuple[object, int], dict[str, object]] = {}
        # pid → (image, command line), read or not (LazyProcess, or its exe and EXECVE line
        # as written: a bytes pair, from remember_all)
        self._processes: dict[str, tuple[str, str] | LazyProcess | tuple[bytes, bytes]] = {}
        # wanted(group, parent) -> False when no rule can match the event (see audit_fast.py);
        # None builds every event.
        self.wanted: Callable[[dict[str, object], Callable[[], object]], bool] | None = None

    def add(self, fields: Mapping[str, object], origin: Location | None) -> list[Event]:
        """Take one record; return the process_creation events it completes.

        Only a SYSCALL record of ``execve``/``execveat`` or an EXECVE record opens an event:
        the records of other system calls can never make one.
        """
        kind = fields.get("type")
        key = (fields.get("node"), fields.get("serial"))  # type: ignore[assignment]
        group = self._open.get(key)  # type: ignore[arg-type]
        done: list[Event] = []
        if group is None:
            if kind != "EXECVE" and (
                kind != "SYSCALL" or fields.get("SYSCALL") not in _EXEC_SYSCALLS
            ):
                return done
            if len(self._open) >= self.MAX_OPEN:
                done.extend(self._finish(next(iter(self._open))))
            group = self._open[key] = {}  # type: ignore[index]
        if kind == "SYSCALL":
            group["syscall"] = fields
            group["origin"] = origin
        elif kind == "EXECVE":
            group["execve"] = fields
        elif kind == "CWD":
            group["cwd"] = fields
        if kind in ("CWD", "PROCTITLE", "EOE"):
            done.extend(self._finish(key))  # type: ignore[arg-type]
        return done

    @property
    def open_events(self) -> int:
        """How many events have records seen and are not complete yet."""
        return len(self._open)

    def flush(self) -> list[Event]:
        """Complete every open event (end of input)."""
        done: list[Event] = []
        for key in list(self._open):
            done.extend(self._finish(key))
        return done

    def _finish(self, key: tuple[object, int]) -> list[Event]:
        group = self._open.pop(key, None)
        if not group or "syscall" not in group or "execve" not in group:
            return []
        syscall: Mapping[str, object] = group["syscall"]  # type: ignore[assignment]
        if syscall.get("SYSCALL") not in _EXEC_SYSCALLS or syscall.get("success") == "no":
            return []
        execve: Mapping[str, object] = group["execve"]  # type: ignore[assignment]
        pid, ppid = str(syscall.get("pid", "")), str(syscall.get("ppid", ""))
        if self.wanted is not None and not self.wanted(group, lambda: self.process(ppid)):
            # No rule can match it: only remembered as a parent, read if a child needs it.
            self._remember(pid, LazyProcess(str(syscall.get("exe", "")), execve))
            return []
        event: dict[str, object] = {
            "@timestamp": syscall.get("@timestamp"),
            "serial": syscall.get("serial"),
            "Image": str(syscall.get("exe", "")),
            "CommandLine": record_text(execve),
            "ProcessId": pid,
            "ParentProcessId": ppid,
            "User": syscall.get("UID") or syscall.get("uid"),
        }
        if "node" in syscall:
            event["Computer"] = syscall["node"]
        cwd: Mapping[str, object] | None = group.get("cwd")  # type: ignore[assignment]
        if cwd is not None and cwd.get("cwd") is not None:
            event["CurrentDirectory"] = cwd.get("cwd")
        origin = group.get("origin")
        return [self.execution(event, origin if isinstance(origin, Location) else None)]

    def execution(self, event: dict[str, object], origin: Location | None) -> Event:
        """The process_creation event of an execution whose fields (but its parent's) are in
        ``event``; it is remembered as a possible parent."""
        ppid = event["ParentProcessId"]
        parent = self.process(ppid)  # type: ignore[arg-type]
        if isinstance(parent, LazyProcess):
            parent = self._processes[ppid] = parent.resolve()  # type: ignore[index]
        if parent is not None:
            event["ParentImage"], event["ParentCommandLine"] = parent
        self._remember(event["ProcessId"], (event["Image"], event["CommandLine"]))  # type: ignore[arg-type]
        return Event(fields=event, origin=origin, logsource=PROCESS_CREATION, derived=True)

    def process(self, pid: str) -> tuple[str, str] | LazyProcess | None:
        """The last process remembered with this pid (image, command line), if any."""
        found = self._processes.get(pid)
        if isinstance(found, tuple) and isinstance(found[0], bytes):
            return LazyProcess(*found)  # type: ignore[arg-type]
        return found  # type: ignore[return-value]

    def remember(self, pid: str, process: LazyProcess) -> None:
        """An execution no rule can match, all its records seen, no event open: as
        :meth:`add` of its records would leave the assembler."""
        self._remember(pid, process)

    def remember_all(self, pids: list[str], processes: list[tuple[bytes, bytes]]) -> None:
        """Executions no rule can match (their exe and EXECVE line as written), in order, as
        :meth:`remember` of each would leave the assembler."""
        if len(self._processes) + len(pids) < self.MAX_PROCESSES:
            self._processes.update(zip(pids, processes, strict=True))  # none forgotten
        else:
            for pid, process in zip(pids, processes, strict=True):
                self._remember(pid, process)

    def _remember(
        self, pid: str, process: tuple[str, str] | LazyProcess | tuple[bytes, bytes]
    ) -> None:
        if len(self._processes) >= self.MAX_PROCESSES:
            del self._processes[next(iter(self._processes))]
        self._processes[pid] = process


class LazyProcess:
    """A process seen by its records only: its image and command line, read when asked.

    ``execve`` is its EXECVE record, read or as the line written (bytes); ``image`` its
    ``exe``, read or as written (bytes, read when asked)."""

    __slots__ = ("_image", "execve")

    def __init__(self, image: str | bytes, execve: Mapping[str, object] | bytes) -> None:
        self._image = image
        self.execve = execve

    @property
    def image(self) -> str:
        image = self._image
        if isinstance(image, bytes):
            image = self._image = field_value("exe", decode_line(image))
        return image

    def resolve(self) -> tuple[str, str]:
        """(image, command line), as a process_creation event would hold them."""
        execve = self.execve
        if isinstance(execve, bytes):
            parsed = parse_record(decode_line(execve))
            execve = parsed[0] if isinstance(parsed, tuple) else parsed  # type: ignore[assignment]
            assert isinstance(execve, dict), "an EXECVE line read by its header already"
        return self.image, record_text(execve)


# Lines that must be parsed whatever the rules' literals: the records a process_creation
# event is built from, and records holding a hex-encoded value (their text is not in the
# line). Lower-case, as the reader searches lower-cased bytes.
ALWAYS_PARSE = rb"type=(?:execve|cwd|eoe) |(?:syscall=(?:59|322|11|358|221|281) )|syscall=execve"
# The records a process_creation event is built from, by name or by the number the kernel
# prints without auditd (``type=1309 audit(…)``): SYSCALL, PATH, CWD, EXECVE, EOE, PROCTITLE.
EXECUTION_RECORDS = (
    rb"type=(?:syscall|1300|path|1302|cwd|1307|execve|1309|eoe|1320|proctitle|1327)[ :]"
)
# A hex-encoded value: its text is not in the line (see Adapter.hex_encoded).
HEX_ENCODED = (
    rb" (?:name|path|exe|comm|cwd|dir|file|key|proctitle|acct|cmd|data|ocomm|new|old|watch)"
    rb"=[0-9a-f]"
)


@cache
def _names_holding(literal: str) -> tuple[frozenset[str], frozenset[str]]:
    """System call numbers (of any architecture) and numeric record types whose names hold
    ``literal`` (lower-case)."""
    numbers = frozenset(number for number, name in _EVERY_SYSCALL if literal in name)
    types = frozenset(number for number, name in TYPE_NAMES.items() if literal in name.lower())
    return numbers, types


# (number, name) of every architecture's system calls
_EVERY_SYSCALL = frozenset(
    pair
    for _, table in SYSCALL_TABLES.values()
    for pair in zip(table.split()[::2], table.split()[1::2], strict=True)
)


class AuditdAdapter(Adapter):
    """Parse one audit.log / ``ausearch --raw`` line into a record event (``service: auditd``).

    >>> adapter = AuditdAdapter()
    >>> event = adapter.parse(b'type=PATH msg=audit(1700000000.1:7): item=0 '
    ...     b'name="/etc/ld.so.preload"', Location(path="a", line=1))
    >>> event.fields["name"], event.logsource.service
    ('/etc/ld.so.preload', 'auditd')
    """

    name = "auditd"
    logsource = AUDITD
    raw_fields = frozenset(
        {"type", "key", "exe", "comm", "name", "cwd", "unit", "nametype", "euid", "uid", "auid"}
    )
    always_parse = ALWAYS_PARSE
    hex_encoded = HEX_ENCODED
    derives = True
    weak_fields = frozenset({"type"})

    def raw_pattern(self, field: str, literal: str) -> bytes | None:
        # ``type`` is written ``type=NAME`` (or ``type=NUMBER`` by the kernel alone);
        # ``SYSCALL`` is the name of ``syscall=NUMBER`` (or written ``SYSCALL=name`` when
        # ENRICHED): both are found by pattern, not by their bare text.
        escaped = re2.escape(literal.encode())
        if _ARGUMENT.fullmatch(field):
            # EXECVE records (always parsed) hold arguments; SYSCALL records hex numbers.
            return b"type=execve | " + field.encode() + rb"=[^ ]*" + escaped
        if field not in ("type", "SYSCALL"):
            return None
        numbers, types = _names_holding(literal)
        if field == "type":
            found = [rb"type=[a-z0-9_]*" + escaped]
            found += [b"type=" + t.encode() + b" " for t in sorted(types)]
        else:
            found = [rb"syscall=[a-z0-9_]*" + escaped]
            if numbers:
                found.append(b"syscall=(?:" + b"|".join(sorted(n.encode() for n in numbers)) + b") ")
        return b"|".join(found)

    def derived_patterns(self, literal: str) -> list[bytes]:
        numbers, types = _names_holding(literal)
        found = []
        if numbers:
            found.append(b"syscall=(?:" + b"|".join(sorted(n.encode() for n in numbers)) + b") ")
        found += [b"type=" + t.encode() + b" " for t in sorted(types)]
        return found

    def __init__(self) -> None:
        self.assembler = AuditAssembler()
        self._derived: list[Event | Unparsed] = []
        # False when another reader feeds the assembler (logs/audit_fast.py)
        self.assemble = True

    def parse(self, raw: bytes, origin: Location) -> Event | Unparsed | None:
        text = decode_line(raw)
        if not text.strip() or text.startswith(("----", "time->")):
            return None  # blank, or the separators of ausearch's default output
        return self.parse_text(text, origin, raw)

    def parse_text(self, text: str, origin: Location, raw: bytes = b"") -> Event | Unparsed:
        """An audit record found in some text (a line, a syslog message) → its event."""
        fields = parse_record(text)
        if isinstance(fields, str):
            return Unparsed(origin=origin, reason=fields, raw=raw)
        if isinstance(fields, tuple):
            fields, problem = fields
            self._derived.append(Unparsed(origin=origin, reason=problem, raw=raw, kept=True))
        if self.assemble:
            self._derived.extend(self.assembler.add(fields, origin))
        return Event(fields=fields, origin=origin, logsource=AUDITD)

    def derived(self) -> list[Event | Unparsed]:
        done, self._derived = self._derived, []
        return done

    def finish(self) -> list[Event | Unparsed]:
        return self.derived() + self.assembler.flush()
