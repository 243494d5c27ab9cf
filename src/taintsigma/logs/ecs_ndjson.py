"""ECS NDJSON (Elasticsearch exports, Filebeat's file output) → events, nested or flat keys.

A line may hold the document itself or a search hit wrapping it in ``_source``. Documents of
the syslog dataset (``event.dataset`` or ``data_stream.dataset`` ``system.syslog``) belong to
the ``linux``/``syslog`` log source; others to none, so every rule is tried on them.
"""

from __future__ import annotations

from datetime import datetime

import orjson

from taintsigma.logs.base import Adapter
from taintsigma.logs.event import LINUX_SYSLOG, Event, Location, Unparsed, get_field

SYSLOG_DATASETS = frozenset({"system.syslog"})


class EcsNdjsonAdapter(Adapter):
    """Parse one ECS NDJSON line.

    >>> line = b'{"event.dataset":"system.syslog","message":"x"}'
    >>> EcsNdjsonAdapter().parse(line, Location(path="e", line=1)).logsource.service
    'syslog'
    """

    name = "ecs"
    raw_fields = frozenset({"message", "process.name", "host.hostname"})
    json_escaped = True

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
        logsource = LINUX_SYSLOG if dataset in SYSLOG_DATASETS else None
        return Event(fields=document, origin=origin, logsource=logsource)


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
