"""One audit record read lightly, as the audit log's reader (logs/audit_fast.py) feeds the
assembler: its header at once (and a SYSCALL record's execution fields, when it is in the
kernel's layout), every other field by :func:`.auditd.parse_record` when first asked for."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from taintsigma.logs.auditd import (
    TYPE_NAMES,
    _timestamp,
    field_value,
    parse_record,
    syscall_name,
)
from taintsigma.logs.common import decode_line

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
