"""Tell an input's format from its first bytes: content, not file names, decides."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

FORMATS = ("syslog", "journald", "dmesg", "ecs", "json", "auditd")

_SYSLOG_START = re.compile(
    rb"(?:<\d{1,3}>)?(?:<\d{1,3}>1 \S+ |"
    rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* +\d{1,2} \d{1,2}:\d{2}(?::\d{2})?"
    rb"|\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:?\d{2})"
)
_DMESG_START = re.compile(
    rb"(?:[a-z0-9]+ *:[a-z]+ *: )?\[(?:\s*\d+\.\d+|[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d \d{4})\]"
)
# audit.log / ``ausearch --raw``: [node=HOST ]type=NAME msg=audit(EPOCH:SERIAL): …
_AUDIT_START = re.compile(rb"(?:node=\S+ )?type=[A-Za-z0-9_]+ msg=audit\(\d")
_JOURNALD_KEYS = ("__REALTIME_TIMESTAMP", "__CURSOR", "_BOOT_ID", "SYSLOG_IDENTIFIER", "_TRANSPORT")
# Top-level ECS field sets (nested objects or the first part of flat dotted keys).
_ECS_KEYS = frozenset(
    {"@timestamp", "_source", "ecs", "data_stream", "event", "agent", "host", "log", "process"}
)
_MAGIC = {
    b"\x1f\x8b": "gzip",
    b"LPKSHHRH": "a binary journald journal (export it with: journalctl -o json --file FILE)",
    b"\xfd7zXZ\x00": "xz-compressed (decompress it first: xz -dc FILE | taintsigma scan -)",
    b"BZh": "bzip2-compressed (decompress it first: bzip2 -dc FILE | taintsigma scan -)",
    b"\x28\xb5\x2f\xfd": "zstd-compressed (decompress it first: zstd -dc FILE | taintsigma scan -)",
}
_SAMPLE_LINES = 50


@dataclass(frozen=True)
class Sniffed:
    """The format of an input (one of FORMATS), or why it has none (``problem``)."""

    format: str | None
    problem: str | None = None
    binary: bool = False


def magic(head: bytes) -> str | None:
    """Return what a known binary header says about the input (``gzip`` or an explanation)."""
    for prefix, meaning in _MAGIC.items():
        if head.startswith(prefix):
            return meaning
    return None


def sniff(head: bytes) -> Sniffed:
    """Guess the format of (decompressed) text from its first lines; vote by line.

    >>> sniff(b"Nov 26 04:10:16 host kernel: hello\\n").format
    'syslog'
    >>> sniff(b"[   1.000000] Linux version 6.1\\n").format
    'dmesg'
    >>> sniff(b"type=CWD msg=audit(1700000000.123:42): cwd=\\"/\\"\\n").format
    'auditd'
    """
    votes = dict.fromkeys(FORMATS, 0)
    lines = [line.strip(b"\x00\x1e \t\r") for line in head.split(b"\n", _SAMPLE_LINES)]
    lines = [line for line in lines[:_SAMPLE_LINES] if line]
    for line in lines:
        kind = _line_format(line)
        if kind is not None:
            votes[kind] += 1
    best = max(FORMATS, key=lambda name: votes[name])
    if votes[best]:
        return Sniffed(best)
    if not lines:
        return Sniffed("syslog")  # empty: any format reads nothing
    if _looks_binary(head):
        return Sniffed(None, "binary file (not a log format taintsigma reads)", binary=True)
    return Sniffed(None, "not a recognised log format (force one with --format)")


def _line_format(line: bytes) -> str | None:
    if line.startswith(b"{"):
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(value, dict):
            return None
        if any(key in value for key in _JOURNALD_KEYS) and "MESSAGE" in value:
            return "journald"
        if any(key.partition(".")[0] in _ECS_KEYS for key in value):
            return "ecs"
        return "json"
    if _AUDIT_START.match(line):
        return "auditd"
    if _DMESG_START.match(line):
        return "dmesg"
    if _SYSLOG_START.match(line):
        return "syslog"
    return None


def _looks_binary(head: bytes) -> bool:
    sample = head[:8192]
    if not sample:
        return False
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return control / len(sample) > 0.05
