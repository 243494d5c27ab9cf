"""Plain JSON lines already in the rules' own field names: no pipeline, every rule tried."""

from __future__ import annotations

from taintsigma.logs.base import Adapter
from taintsigma.logs.ecs_ndjson import parse_json_line
from taintsigma.logs.event import Event, Location, Unparsed


class JsonLinesAdapter(Adapter):
    """Parse one JSON object per line; the event is the object as is, with no log source.

    >>> JsonLinesAdapter().parse(b'{"program":"kernel"}', Location(path="j", line=1)).fields
    {'program': 'kernel'}
    """

    name = "json"
    json_escaped = True

    def __init__(self) -> None:
        # Without a pipeline the rules' own field names are the event's.
        self.raw_fields = frozenset({"message", "program", "hostname"})

    def parse(self, raw: bytes, origin: Location) -> Event | Unparsed | None:
        document = parse_json_line(raw, origin)
        if not isinstance(document, dict):
            return document
        return Event(fields=document, origin=origin, logsource=None)
