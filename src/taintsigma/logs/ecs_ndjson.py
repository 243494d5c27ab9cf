"""ECS NDJSON (Elasticsearch exports, Filebeat's file output) → events, nested or flat keys.

A line may hold the document itself or a search hit wrapping it in ``_source``. Documents of
the syslog dataset (``event.dataset`` or ``data_stream.dataset`` ``system.syslog``) belong to
the ``linux``/``syslog`` log source. Process, file and network documents of Linux hosts (Elastic
Defend's ``logs-endpoint.events.*``, Auditbeat's and Auditd Manager's process events) belong to
Sigma's category their ECS categorisation fields say (:data:`TELEMETRY`); the scan reads their
ECS field names back into Sigma's (taintsigma.scan.routing). Others have none, so every rule
is tried on them.

``event.category`` and ``event.type`` (lists or single values) are ECS's categorisation fields:
https://www.elastic.co/guide/en/ecs/current/ecs-category-field-values-reference.html
"""

from __future__ import annotations

from datetime import datetime

import orjson

from taintsigma.logs.base import Adapter
from taintsigma.logs.event import (
    LINUX_SYSLOG,
    Event,
    Location,
    LogSourceKey,
    Unparsed,
    get_field,
)

SYSLOG_DATASETS = frozenset({"system.syslog"})

# Sigma category ← (event.category, event.type) of ECS, and the event.action values that
# start a new program image: Elastic Defend's ``exec`` (its ``fork`` is also a process
# start, but of a copy of the parent, which Sysmon's ProcessCreate does not report),
# Auditbeat's and Auditd Manager's ``executed``, Auditbeat system module's ``process_started``.
# A document without event.action is taken by its category and type alone.
TELEMETRY = {
    "process_creation": ("process", "start"),
    "file_event": ("file", "creation"),
    "network_connection": ("network", "start"),
}
EXEC_ACTIONS = frozenset({"exec", "executed", "process_started"})
_TELEMETRY_SOURCES = {
    category: LogSourceKey(product="linux", category=category) for category in TELEMETRY
}


class EcsNdjsonAdapter(Adapter):
    """Parse one ECS NDJSON line.

    >>> line = b'{"event.dataset":"system.syslog","message":"x"}'
    >>> EcsNdjsonAdapter().parse(line, Location(path="e", line=1)).logsource.service
    'syslog'
    """

    name = "ecs"
    raw_fields = frozenset({"message", "process.name", "host.hostname"})
    json_escaped = True
    # Process, file and network documents: always parsed (their fields are not raw_fields).
    always_parse = rb'category"\s*:\s*(?:\[[^\]]*)?"(?:process|file|network)"'

    def parse(self, raw: bytes, origin: Location) -> Event | Unparsed | None:
        document = parse_json_line(raw, origin)
        if not isinstance(document, dict):
            return document
        source = document.get("_source")
        if isinstance(source, dict):
            document = source
        stamp = document.get("@timestamp")
        if stamp is not None and not valid_time(stamp):
            # Not a time (`"yesterday"`): kept out of the alert's @timestamp, and said so.
            document = {k: v for k, v in document.items() if k != "@timestamp"}
            document.setdefault("error", {"message": f"invalid @timestamp {repr(stamp)[:40]}"})
        dataset = get_field(document, "event.dataset") or get_field(document, "data_stream.dataset")
        logsource = LINUX_SYSLOG if dataset in SYSLOG_DATASETS else classify(document)
        return Event(fields=document, origin=origin, logsource=logsource)


def classify(document: dict[str, object]) -> LogSourceKey | None:
    """The Sigma log source of a Linux process, file or network document (None: another).

    >>> classify({"event": {"category": ["process"], "type": ["start"], "action": "exec"},
    ...           "host": {"os": {"type": "linux"}}}).category
    'process_creation'
    >>> classify({"event": {"category": "process", "type": "start", "action": "fork"}})
    """
    system = get_field(document, "host.os.type")
    if system is not None and (not isinstance(system, str) or system.lower() != "linux"):
        return None  # Windows and macOS documents keep today's behaviour: every rule
    categories = _values(get_field(document, "event.category"))
    if not categories:
        return None
    kinds = _values(get_field(document, "event.type"))
    for category, (ecs_category, ecs_type) in TELEMETRY.items():
        if ecs_category in categories and ecs_type in kinds:
            if category == "process_creation":
                action = get_field(document, "event.action")
                if action is not None and str(action).lower() not in EXEC_ACTIONS:
                    continue
            return _TELEMETRY_SOURCES[category]
    return None


def _values(value: object) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value.lower()})
    if isinstance(value, list):
        return frozenset(v.lower() for v in value if isinstance(v, str))
    return frozenset()


def valid_time(value: object) -> bool:
    """Whether a ``@timestamp`` is one Elasticsearch's default date format takes: an ISO 8601
    date (and time), or milliseconds since the epoch (a number, or digits).

    >>> valid_time("2026-11-26T03:06:02.901Z"), valid_time(1764126362901), valid_time("yesterday")
    (True, True, False)
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if not isinstance(value, str):
        return False
    if value.isdigit():
        return True
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def parse_json_line(raw: bytes, origin: Location) -> dict[str, object] | Unparsed | None:
    """The JSON object of one line; None for a blank line, Unparsed for a line holding none.

    What the JSON adapters (ecs, json, journald) share before each builds its event.
    """
    if not raw.strip():
        return None
    document = load_object(raw)
    if isinstance(document, str):
        return Unparsed(origin=origin, reason=document, raw=raw)
    return document


def load_object(raw: bytes) -> dict[str, object] | str:
    """Decode one JSON line into a dict, or return the reason it is not a JSON object.

    NUL bytes around the object (left by a crash) and the record separator of JSON text
    sequences (``journalctl -o json-seq``) are ignored; invalid UTF-8 inside it is read as
    U+FFFD.
    """
    raw = raw.strip(b"\x00\x1e \t\r\n")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        try:  # orjson rejects invalid UTF-8 that a lenient producer may have written
            value = orjson.loads(raw.decode("utf-8", "replace"))
        except orjson.JSONDecodeError:
            return f"invalid JSON: {err}"
    if not isinstance(value, dict):
        return "not a JSON object"
    return value
