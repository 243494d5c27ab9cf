"""``journalctl -o json`` exports → the ECS document the same message gets from a syslog file.

Fields: ``MESSAGE`` (text, or a byte array for non-UTF-8 payloads) → ``message``;
``SYSLOG_IDENTIFIER`` (what rsyslog writes as the tag; ``kernel`` for kernel messages, else
``_COMM``) → ``process.name``; ``_PID`` (else ``SYSLOG_PID``) → ``process.pid``;
``_HOSTNAME`` → ``host.hostname``; ``__REALTIME_TIMESTAMP`` (µs since the epoch) →
``@timestamp``; ``SYSLOG_FACILITY``/``PRIORITY`` → ``log.syslog``; ``_TRANSPORT`` → ``systemd.transport``
(the name Filebeat's journald input gives it; the taxonomy's ``transport``). Filebeat's own
journald input takes ``process.name`` from ``_COMM`` only, which kernel messages lack
(docs/scan.md); taintsigma follows the syslog file instead, so one rule gives one verdict
whichever way the message was collected.
"""

from __future__ import annotations

from datetime import UTC, datetime

from taintsigma.logs.base import Adapter
from taintsigma.logs.common import (
    FACILITY_NAMES,
    LINUX_CONSTANTS,
    SEVERITY_NAMES,
    format_timestamp,
)
from taintsigma.logs.ecs_ndjson import parse_json_line
from taintsigma.logs.event import LINUX_SYSLOG, Event, Location, Unparsed
from taintsigma.logs.syslog import finish_document


class JournaldAdapter(Adapter):
    """Parse one ``journalctl -o json`` line.

    >>> line = b'{"MESSAGE":"hi","SYSLOG_IDENTIFIER":"kernel","__REALTIME_TIMESTAMP":"0"}'
    >>> JournaldAdapter().parse(line, Location(path="j", line=1)).fields["process"]
    {'name': 'kernel'}
    """

    name = "journald"
    logsource = LINUX_SYSLOG
    constants = LINUX_CONSTANTS | {"journald"}
    adds_path = True
    raw_fields = frozenset({"message", "process.name", "host.hostname"})
    json_escaped = True
    # MESSAGE as a byte array ("MESSAGE":[104,105]) does not show its text in the line.
    always_parse = rb'"message"\s*:\s*\['

    def parse(self, raw: bytes, origin: Location) -> Event | Unparsed | None:
        entry = parse_json_line(raw, origin)
        if not isinstance(entry, dict):
            return entry
        message = _text(entry.get("MESSAGE"))
        if message is None:
            return Unparsed(origin=origin, reason="journald entry without MESSAGE", raw=raw)
        document: dict[str, object] = {"message": message}
        stamp = _first(entry.get("__REALTIME_TIMESTAMP"))
        if stamp is not None:
            try:
                micros = int(str(stamp))
                moment = datetime.fromtimestamp(micros // 1_000_000, UTC).replace(
                    microsecond=micros % 1_000_000
                )
            except (TypeError, ValueError, OverflowError, OSError):
                # The entry is kept (its message may be the one that matters), without a
                # time, and says why, as Filebeat's error.message does.
                shown = repr(stamp)[:40]
                document["error"] = {"message": f"invalid __REALTIME_TIMESTAMP {shown}"}
            else:
                document["@timestamp"] = format_timestamp(moment)
        hostname = _text(entry.get("_HOSTNAME"))
        if hostname:
            document["host"] = {"hostname": hostname}
        process: dict[str, object] = {}
        name = _text(entry.get("SYSLOG_IDENTIFIER")) or _text(entry.get("_COMM"))
        if name:
            process["name"] = name
        pid = _text(entry.get("_PID")) or _text(entry.get("SYSLOG_PID"))
        if pid and pid.isdigit():
            process["pid"] = int(pid)
        if process:
            document["process"] = process
        syslog: dict[str, object] = {}
        facility = _text(entry.get("SYSLOG_FACILITY"))
        if facility and facility.isdigit():
            code = int(facility)
            syslog["facility"] = {"code": code}
            if code < len(FACILITY_NAMES):
                syslog["facility"]["name"] = FACILITY_NAMES[code]  # type: ignore[index]
        priority = _text(entry.get("PRIORITY"))
        if priority and priority.isdigit():
            syslog["priority"] = int(priority)
            if int(priority) < len(SEVERITY_NAMES):
                syslog["severity"] = {"code": int(priority), "name": SEVERITY_NAMES[int(priority)]}
        if syslog:
            document["log"] = {"syslog": syslog}
        transport = _text(entry.get("_TRANSPORT"))
        if transport:
            document["systemd"] = {"transport": transport}
        document["input"] = {"type": "journald"}
        return Event(
            fields=finish_document(document, origin), origin=origin, logsource=self.logsource
        )


def _first(value: object) -> object:
    # journald writes a field that occurs several times as a list of its values.
    if isinstance(value, list) and value and not isinstance(value[0], int):
        return value[0]
    return value


def _text(value: object) -> str | None:
    value = _first(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
