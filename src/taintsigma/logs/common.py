"""Helpers shared by the adapters: line decoding, time zones, syslog facility names."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from taintsigma.errors import TaintSigmaError

# RFC 5424 section 6.2.1, with the names ECS (log.syslog.facility.name) and rsyslog use.
FACILITY_NAMES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
    "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
)  # fmt: skip
SEVERITY_NAMES = (
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
)  # fmt: skip


# What every Linux adapter adds (finish_document), with the decoded facility/severity names.
LINUX_CONSTANTS = frozenset(
    {"system.syslog", "system", "event", "linux", *FACILITY_NAMES, *SEVERITY_NAMES}
)


def decode_line(raw: bytes) -> str:
    """Decode one raw line: UTF-8 with U+FFFD for invalid bytes, without its CR/LF ending."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", "replace")


def format_timestamp(moment: datetime) -> str:
    """Render an aware datetime as ECS ``@timestamp``: UTC, milliseconds, ``Z``.

    >>> format_timestamp(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    '2026-01-02T03:04:05.678Z'
    """
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_timezone(name: str | None) -> tzinfo:
    """Resolve ``--timezone``: ``local`` (or None), ``UTC``, ``+02:00``/``-0500``, or an IANA name.

    Raises TaintSigmaError for a name that is none of these.
    """
    if name is None or name.lower() == "local":
        return local_timezone()
    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    text = name.replace(":", "")
    if len(text) == 5 and text[0] in "+-" and text[1:].isdigit():
        sign = 1 if text[0] == "+" else -1
        hours, minutes = int(text[1:3]), int(text[3:5])
        if hours > 23 or minutes > 59:
            raise TaintSigmaError(f"time zone offset {name!r} out of range: use -23:59 to +23:59")
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise TaintSigmaError(
            f"unknown time zone {name!r}: use 'local', 'UTC', an offset like '+02:00' "
            "or an IANA name like 'Europe/Paris'"
        ) from err


def local_timezone() -> tzinfo:
    """The machine's zone with its daylight-saving rules (``TZ``, else /etc/localtime).

    A fixed offset (``datetime.now().astimezone()``) would be wrong for half of a year of logs.
    """
    name = os.environ.get("TZ", "").lstrip(":")
    try:
        if name:
            return ZoneInfo(name)
        with open("/etc/localtime", "rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError, ZoneInfoNotFoundError):
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC


def timezone_label(zone: tzinfo, moment: datetime) -> str:
    """Return the zone's UTC offset at ``moment`` as ``+HH:MM`` (ECS ``event.timezone``)."""
    offset = zone.utcoffset(moment.replace(tzinfo=None)) or timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def syslog_priority_fields(priority: int) -> dict[str, object]:
    """ECS ``log.syslog`` fields for a PRI value (facility × 8 + severity)."""
    facility, severity = divmod(priority, 8)
    fields: dict[str, object] = {
        "priority": priority,
        "facility": {"code": facility},
        "severity": {"code": severity, "name": SEVERITY_NAMES[severity]},
    }
    if facility < len(FACILITY_NAMES):
        fields["facility"]["name"] = FACILITY_NAMES[facility]  # type: ignore[index]
    return fields
