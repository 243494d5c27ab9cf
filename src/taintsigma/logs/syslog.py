"""Raw syslog files → ECS documents, as Filebeat's system module (syslog fileset) indexes them.

Header forms, tried in the order of the Filebeat ingest pipeline's grok patterns
(elastic/beats ``filebeat/module/system/syslog/ingest``):

1. RFC 3164 ``Mmm dd HH:MM:SS host prog[pid]: msg`` (the year is inferred);
2. RFC 3164 without host or tag: everything after the time stamp is the message;
3. ISO 8601 high-precision header (rsyslog's default) with host and tag;
4. ISO 8601 header without host or tag.

Lines starting with white space continue the line before them (Filebeat's ``multiline``
setting for the syslog fileset); the reader joins them with ``\n`` before parsing.

Like grok, the patterns search the line, so a ``<PRI>`` in front is tolerated (and decoded
into ``log.syslog``). RFC 5424 lines (``<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG``), which
the Filebeat module does not parse, are decoded into the same ECS fields plus ``log.syslog``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from taintsigma.logs.base import Adapter
from taintsigma.logs.common import (
    LINUX_CONSTANTS,
    decode_line,
    format_timestamp,
    syslog_priority_fields,
    timezone_label,
)
from taintsigma.logs.event import LINUX_SYSLOG, Event, Location, Unparsed

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

# Grok's SYSLOGTIMESTAMP, TIMESTAMP_ISO8601, SYSLOGHOST (IPORHOST), DATA and POSINT.
_BSD_TS = (
    r"(?P<mon>\b(?:Jan(?:uary|uar)?|Feb(?:ruary|ruar)?|M(?:a|ä)?r(?:ch|z)?|Apr(?:il)?|Ma(?:y|i)?"
    r"|Jun(?:e|i)?|Jul(?:y|i)?|Aug(?:ust)?|Sep(?:tember)?|O(?:c|k)?t(?:ober)?|Nov(?:ember)?"
    r"|De(?:c|z)(?:ember)?)\b) +(?P<day>(?:0[1-9]|[12][0-9]|3[01]|[1-9])) "
    r"(?P<time>(?!<[0-9])(?:2[0123]|[01]?[0-9]):[0-5][0-9](?::(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)?)"
    r"(?![0-9])"
)
_ISO_TS = (
    r"(?P<iso>(?>\d\d){1,2}-(?:0?[1-9]|1[0-2])-(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])"
    r"[T ](?:2[0123]|[01]?[0-9]):?[0-5][0-9](?::?(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)?"
    r"(?:Z|[+-](?:2[0123]|[01]?[0-9])(?::?[0-5][0-9]))?)"
)
_HOST = (
    r"(?P<host>(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]{0,15}"
    r"|\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*(?:\.?|\b))"
)
# GREEDYMULTILINE: the message runs over the lines Filebeat joins; DATA stops at a newline.
_MSG = r"(?P<msg>(?s:.*))"
_TAG = rf"(?P<prog>.*?)(?:\[(?P<pid>\b[1-9][0-9]*\b)\])?: {_MSG}"

PATTERNS = (
    re.compile(rf"{_BSD_TS} {_HOST} {_TAG}"),
    re.compile(rf"{_BSD_TS} {_MSG}"),
    re.compile(rf"{_ISO_TS} {_HOST} {_TAG}"),
    re.compile(rf"{_ISO_TS} {_MSG}"),
)
_PRI = re.compile(r"<(\d{1,3})>")
_RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>(?P<version>[1-9]\d{0,2}) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+)"
    r" (?P<procid>\S+) (?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\"\\]|\\.|\"(?:[^\"\\]|\\.)*\")*\])+)"
    r"(?: (?P<msg>.*))?",
    re.DOTALL,
)
_SD_ELEMENT = re.compile(
    r"\[(?P<id>[^\s\]=\"]+)(?P<params>(?:[^\]\"\\]|\\.|\"(?:[^\"\\]|\\.)*\")*)\]"
)
_SD_PARAM = re.compile(r"(?P<name>[^\s=\]\"]+)=\"(?P<value>(?:[^\"\\]|\\.)*)\"")
_ISO_PARTS = re.compile(
    r"(\d{2,4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):?(\d{2})(?::?(\d{1,2})(?:[:.,](\d+))?)?"
    r"(Z|[+-]\d{1,2}(?::?\d{2}))?$"
)

# ISO 8601 headers never need the time zone option; RFC 3164 ones take it from the adapter.
_FUTURE_SLACK = timedelta(days=1)
_CLOCK_PARTS = re.compile(r"[:.,]")


class SyslogAdapter(Adapter):
    """Parse syslog lines into the ECS document Filebeat's system module would index.

    ``timezone`` interprets time stamps without an offset (RFC 3164, ISO without zone);
    ``now`` is the reference for RFC 3164 year inference: the current year, or the previous
    one when the date would otherwise lie more than a day in the future.

    >>> a = SyslogAdapter(timezone=UTC, now=datetime(2026, 3, 1, tzinfo=UTC))
    >>> e = a.parse(b"Feb 27 10:00:01 web1 sshd[42]: Accepted key", Location(path="f", line=1))
    >>> e.fields["process"], e.fields["@timestamp"]
    ({'name': 'sshd', 'pid': 42}, '2026-02-27T10:00:01.000Z')
    """

    name = "syslog"
    logsource = LINUX_SYSLOG
    multiline = True
    constants = LINUX_CONSTANTS | {"invalid time stamp in syslog header"}
    adds_path = True
    raw_fields = frozenset({"message", "process.name", "host.hostname"})

    def __init__(self, *, timezone: tzinfo = UTC, now: datetime | None = None) -> None:
        self.timezone = timezone
        self.now = now if now is not None else datetime.now(UTC)
        if self.now.tzinfo is None:
            self.now = self.now.replace(tzinfo=UTC)
        self._year = self.now.astimezone(timezone).year  # RFC 3164 time stamps' first guess

    def parse(self, raw: bytes, origin: Location) -> Event | Unparsed | None:
        text = decode_line(raw)
        if not text.strip():
            return None
        document: dict[str, object] | None = None
        if text.startswith("<"):
            document = self._parse_rfc5424(text)
        if document is None:
            document = self._parse_grok(text)
        if document is None:
            return Unparsed(origin=origin, reason="no syslog header", raw=raw)
        bad_time = document.pop("_bad_time", None)
        if bad_time:
            # Filebeat's date processor fails the same way: the event is kept, without
            # @timestamp, with error.message.
            document["error"] = {"message": "invalid time stamp in syslog header"}
        return Event(
            fields=finish_document(document, origin), origin=origin, logsource=self.logsource
        )

    def _parse_grok(self, text: str) -> dict[str, object] | None:
        for index, pattern in enumerate(PATTERNS):
            found = pattern.search(text)
            if found is None:
                continue
            groups = found.groupdict()
            document: dict[str, object] = {}
            if index < 2:
                moment = self._bsd_time(groups["mon"], groups["day"], groups["time"])
            else:
                moment = iso_time(groups["iso"], self.timezone)
            if moment is None:
                document["_bad_time"] = groups.get("iso") or " ".join(
                    (groups["mon"], groups["day"], groups["time"])
                )
            else:
                document["@timestamp"] = format_timestamp(moment)
                document["event"] = {
                    "timezone": timezone_label(self.timezone, moment.replace(tzinfo=None))
                }
            if groups.get("host") is not None:
                document["host"] = {"hostname": groups["host"]}
                process: dict[str, object] = {"name": groups["prog"]}
                if groups.get("pid"):
                    process["pid"] = int(groups["pid"])
                document["process"] = process
            document["message"] = groups["msg"]
            pri = _PRI.search(text, 0, found.start())
            if pri is not None and pri.end() == found.start() and int(pri.group(1)) < 192:
                document["log"] = {"syslog": syslog_priority_fields(int(pri.group(1)))}
            return document
        return None

    def _bsd_time(self, month: str, day: str, clock: str) -> datetime | None:
        number = MONTHS.get(month.lower()[:3]) or MONTHS.get(month.lower())
        if number is None:
            return None
        parts = _CLOCK_PARTS.split(clock)
        try:
            hour, minute = int(parts[0]), int(parts[1])
            second = min(int(parts[2]), 59) if len(parts) > 2 else 0
            micro = int((parts[3] + "000000")[:6]) if len(parts) > 3 else 0
            moment = datetime(self._year, number, int(day), hour, minute, second, micro)
            moment = _localize(moment, self.timezone)
            if moment - self.now > _FUTURE_SLACK:
                moment = _localize(moment.replace(tzinfo=None, year=moment.year - 1), self.timezone)
        except ValueError:  # 29 Feb in a year without it, and such
            return None
        return moment

    def _parse_rfc5424(self, text: str) -> dict[str, object] | None:
        found = _RFC5424.match(text)
        if found is None or int(found["pri"]) > 191:
            return None
        moment = None if found["ts"] == "-" else iso_time(found["ts"], self.timezone)
        if moment is None and found["ts"] != "-":
            return None
        syslog = syslog_priority_fields(int(found["pri"]))
        syslog["version"] = found["version"]
        document: dict[str, object] = {}
        if moment is not None:
            document["@timestamp"] = format_timestamp(moment)
        if found["host"] != "-":
            document["host"] = {"hostname": found["host"]}
        process: dict[str, object] = {}
        if found["app"] != "-":
            process["name"] = found["app"]
            syslog["appname"] = found["app"]
        if found["procid"] != "-":
            syslog["procid"] = found["procid"]
            if found["procid"].isdigit():
                process["pid"] = int(found["procid"])
        if process:
            document["process"] = process
        if found["msgid"] != "-":
            syslog["msgid"] = found["msgid"]
        if found["sd"] != "-":
            syslog["structured_data"] = structured_data(found["sd"])
        document["message"] = (found["msg"] or "").removeprefix("\ufeff")
        document["log"] = {"syslog": syslog}
        return document


def finish_document(document: dict[str, object], origin: Location) -> dict[str, object]:
    """Add the fields every Linux adapter sets: dataset, OS type, file path and offset."""
    event = document.setdefault("event", {})
    assert isinstance(event, dict)
    event.update({"dataset": "system.syslog", "module": "system", "kind": "event"})
    host = document.setdefault("host", {})
    assert isinstance(host, dict)
    host["os"] = {"type": "linux"}
    log = document.setdefault("log", {})
    assert isinstance(log, dict)
    log["file"] = {"path": origin.path}
    if origin.offset is not None:
        log["offset"] = origin.offset
    return document


def iso_time(text: str, zone: tzinfo) -> datetime | None:
    """Parse an ISO 8601 time stamp; without an offset it is read in ``zone``."""
    found = _ISO_PARTS.match(text)
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = found.groups()
    try:
        moment = datetime(
            int(year) if len(year) == 4 else 2000 + int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            min(int(second or 0), 59),
            int((fraction or "0").ljust(6, "0")[:6]),
        )
    except ValueError:
        return None
    if offset is None:
        return _localize(moment, zone)
    if offset == "Z":
        return moment.replace(tzinfo=UTC)
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:-2]), int(digits[-2:])
    delta = timedelta(hours=hours, minutes=minutes) * (1 if offset[0] == "+" else -1)
    return (moment - delta).replace(tzinfo=UTC)


def _localize(naive: datetime, zone: tzinfo) -> datetime:
    return naive.replace(tzinfo=zone)


def structured_data(text: str) -> dict[str, dict[str, str]]:
    """Decode RFC 5424 STRUCTURED-DATA into ``{sd-id: {param: value}}``."""
    elements: dict[str, dict[str, str]] = {}
    for element in _SD_ELEMENT.finditer(text):
        params = elements.setdefault(element["id"], {})
        for param in _SD_PARAM.finditer(element["params"]):
            params[param["name"]] = re.sub(r"\\([\"\\\]])", r"\1", param["value"])
    return elements
