"""Sysmon for Linux ``<Event>`` XML (in syslog lines or journal entries) → Sigma events.

Sysmon for Linux (github.com/Sysinternals/SysmonForLinux) writes each event as one XML
document, the Windows event schema of Sysmon, to syslog with the tag ``sysmon``
(``<Event><System><Provider Name="Linux-Sysmon" …/><EventID>1</EventID>…<Computer>host
</Computer>…</System><EventData><Data Name="Image">/usr/bin/ls</Data>…</EventData></Event>``).
The ``<Data Name=…>`` names are already Sigma's field names (Sigma's taxonomy took them from
Sysmon), so each becomes a field as is; ``EventID`` chooses the Sigma category:

| EventID | category |
| --- | --- |
| 1 | process_creation |
| 3 | network_connection |
| 5 | process_termination |
| 9 | raw_access_thread |
| 11 | file_event |
| 23 | file_delete |
| 4, 16 | sysmon_status |
| 255 | sysmon_error |

The XML is parsed with the standard library's ``xml.etree.ElementTree`` after refusing any
document holding a ``<!`` declaration: without a DOCTYPE no entity can be declared, so no
entity expansion ("billion laughs") or external entity can happen, and Sysmon never writes
one. The documents are small (one event), so a full parse is cheap.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime

from taintsigma.logs.common import format_timestamp
from taintsigma.logs.event import LogSourceKey

CATEGORIES = {
    "1": "process_creation",
    "3": "network_connection",
    "4": "sysmon_status",
    "5": "process_termination",
    "9": "raw_access_thread",
    "11": "file_event",
    "16": "sysmon_status",
    "23": "file_delete",
    "255": "sysmon_error",
}
_SOURCES = {
    category: LogSourceKey(product="linux", category=category)
    for category in set(CATEGORIES.values())
}
SYSMON_OTHER = LogSourceKey(product="linux", service="sysmon")


def is_sysmon(message: str) -> bool:
    """True when a message holds a Sysmon for Linux event document."""
    return message.lstrip().startswith("<") and "Linux-Sysmon" in message


def parse_sysmon(message: str) -> tuple[dict[str, object], LogSourceKey] | str:
    """A Sysmon for Linux ``<Event>`` document → (fields, log source), or why it is not one.

    >>> fields, source = parse_sysmon('<Event><System><Provider Name="Linux-Sysmon"/>'
    ...     '<EventID>1</EventID><Computer>h</Computer></System><EventData>'
    ...     '<Data Name="Image">/usr/bin/id</Data></EventData></Event>')
    >>> fields["Image"], fields["EventID"], source.category
    ('/usr/bin/id', 1, 'process_creation')
    """
    text = message.strip()
    if "<!" in text:
        return "Sysmon event with an XML declaration (<!DOCTYPE/<!ENTITY): refused"
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as err:
        return f"invalid Sysmon XML: {err}"
    if root.tag != "Event":
        return "not a Sysmon event (root element is not <Event>)"
    system = root.find("System")
    event_id = (system.findtext("EventID") if system is not None else None) or ""
    event_id = event_id.strip()
    if not event_id.isdigit():
        return "Sysmon event without a numeric <EventID>"
    fields: dict[str, object] = {"EventID": int(event_id)}
    if system is not None:
        computer = system.findtext("Computer")
        if computer:
            fields["Computer"] = computer.strip()
        created = system.find("TimeCreated")
        stamp = created.get("SystemTime") if created is not None else None
        if stamp:
            moment = _iso(stamp)
            if moment is not None:
                fields["@timestamp"] = format_timestamp(moment)
        provider = system.find("Provider")
        if provider is not None and provider.get("Name"):
            fields["Provider_Name"] = provider.get("Name")
    data = root.find("EventData")
    for item in data.findall("Data") if data is not None else ():
        name = item.get("Name")
        if name:
            fields[name] = item.text or ""
    if "@timestamp" not in fields and isinstance(fields.get("UtcTime"), str):
        moment = _iso(str(fields["UtcTime"]))
        if moment is not None:
            fields["@timestamp"] = format_timestamp(moment)
    category = CATEGORIES.get(event_id)
    return fields, (_SOURCES[category] if category else SYSMON_OTHER)


def _iso(text: str) -> datetime | None:
    # Sysmon writes nanoseconds (2021-10-13T17:16:39.963000000Z); Python reads microseconds.
    text = text.strip().replace(" ", "T").rstrip("Z")
    head, dot, frac = text.partition(".")
    try:
        moment = datetime.fromisoformat(head + (dot + frac[:6] if dot else ""))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
