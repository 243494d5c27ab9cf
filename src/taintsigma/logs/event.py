"""The event model every adapter yields: an ECS-shaped document plus where it came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class Location:
    """Where a line comes from: file (``-`` for stdin), 1-based line number, byte offset.

    ``offset`` is the byte offset of the line's first byte in the (decompressed) input, as
    Filebeat's ``log.offset``; ``None`` where unknown.
    """

    path: str
    line: int
    offset: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, kw_only=True)
class LogSourceKey:
    """The Sigma log source an event belongs to (``product``/``category``/``service``)."""

    product: str | None = None
    category: str | None = None
    service: str | None = None


LINUX_SYSLOG = LogSourceKey(product="linux", service="syslog")


@dataclass(frozen=True, kw_only=True)
class Event:
    """One parsed event: ``fields`` is the document as the evaluator sees it.

    Linux adapters yield nested ECS documents (``{"process": {"name": "kernel"}, ...}``);
    ``logsource`` says which rules apply (``None``: every rule is tried).

    >>> Event(fields={"message": "hi"}, origin=Location(path="-", line=1)).fields["message"]
    'hi'
    """

    fields: Mapping[str, object]
    origin: Location | None = field(default=None, compare=False)
    logsource: LogSourceKey | None = None
    # Built from other events (a process_creation from audit records, a Sysmon event from a
    # syslog line): matched only by rules naming its category or service, since rules naming
    # only the product already saw the events it came from.
    derived: bool = False


@dataclass(frozen=True, kw_only=True)
class Unparsed:
    """A line an adapter could not turn into an event, with the reason (never raised).

    ``kept``: the line did become an event, but part of it was damaged (``reason`` says what).
    """

    origin: Location
    reason: str
    raw: bytes = field(default=b"", compare=False, repr=False)
    kept: bool = False


def get_field(document: Mapping[str, object], name: str) -> object:
    """Return a dotted field from a document holding nested objects or flat dotted keys.

    >>> get_field({"process": {"name": "kernel"}}, "process.name")
    'kernel'
    >>> get_field({"process.name": "kernel"}, "process.name")
    'kernel'
    """
    if name in document:
        return document[name]
    head, dot, rest = name.partition(".")
    while dot:
        value = document.get(head)
        if isinstance(value, Mapping):
            found = get_field(value, rest)
            if found is not None:
                return found
        more, dot, rest = rest.partition(".")
        head = f"{head}.{more}"
    return None
