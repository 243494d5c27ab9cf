"""``dmesg`` and ``dmesg -T`` output → ECS documents of program ``kernel``.

Plain ``dmesg`` prints seconds since boot (``[   12.345678] msg``), which give no wall-clock
time: such events carry no ``@timestamp`` (the uptime goes to ``kernel.uptime``).
``dmesg -T`` prints ``[Thu Nov 26 04:10:16 2026] msg``, read in the adapter's time zone.
A ``dmesg -x`` facility/level prefix (``kern  :info  : ``) is decoded into ``log.syslog``.
There is no host name in dmesg output; ``host.hostname`` is left out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

from taintsigma.logs.base import Adapter
from taintsigma.logs.common import (
    FACILITY_NAMES,
    LINUX_CONSTANTS,
    SEVERITY_NAMES,
    decode_line,
    format_timestamp,
)
from taintsigma.logs.event import LINUX_SYSLOG, Event, Location, Unparsed
from taintsigma.logs.syslog import MONTHS, finish_document

_LINE = re.compile(
    r"(?:(?P<fac>[a-z0-9]+) *:(?P<lvl>[a-z]+) *: )?"
    r"\[(?:\s*(?P<uptime>\d+\.\d+)|(?P<human>[A-Z][a-z]{2} (?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2})"
    r" (?P<time>\d{2}:\d{2}:\d{2}) (?P<year>\d{4})))\] ?(?P<msg>.*)",
    re.DOTALL,
)
# dmesg -x abbreviates two level names.
_DMESG_LEVELS = {"warn": "warning", "emer": "emerg"}


class DmesgAdapter(Adapter):
    """Parse one line of ``dmesg`` (or ``dmesg -T``, ``dmesg -x``) output.

    >>> e = DmesgAdapter().parse(b"[    5.250000] usb 1-1: new device", Location(path="d", line=1))
    >>> e.fields["process"], e.fields["message"]
    ({'name': 'kernel'}, 'usb 1-1: new device')
    """

    name = "dmesg"
    logsource = LINUX_SYSLOG
    constants = LINUX_CONSTANTS | {"kernel"}
    adds_path = True
    raw_fields = frozenset({"message"})

    def __init__(self, *, timezone: tzinfo = UTC) -> None:
        self.timezone = timezone

    def parse(self, raw: bytes, origin: Location) -> Event | Unparsed | None:
        text = decode_line(raw).lstrip("\x00")  # NUL runs left by a crash
        if not text.strip():
            return None
        found = _LINE.match(text)
        if found is None:
            return Unparsed(origin=origin, reason="no dmesg time stamp", raw=raw)
        document: dict[str, object] = {"process": {"name": "kernel"}, "message": found["msg"]}
        if found["human"]:
            try:
                hour, minute, second = (int(p) for p in found["time"].split(":"))
                moment = datetime(
                    int(found["year"]), MONTHS[found["mon"].lower()], int(found["day"]),
                    hour, minute, min(second, 59), tzinfo=self.timezone,
                )  # fmt: skip
            except (KeyError, ValueError):
                return Unparsed(origin=origin, reason="invalid dmesg -T time stamp", raw=raw)
            document["@timestamp"] = format_timestamp(moment)
        else:
            document["kernel"] = {"uptime": float(found["uptime"])}
        if found["fac"]:
            syslog: dict[str, object] = {}
            if found["fac"] in FACILITY_NAMES:
                syslog["facility"] = {
                    "name": found["fac"],
                    "code": FACILITY_NAMES.index(found["fac"]),
                }
            level = _DMESG_LEVELS.get(found["lvl"], found["lvl"])
            if level in SEVERITY_NAMES:
                syslog["severity"] = {"name": level, "code": SEVERITY_NAMES.index(level)}
            document["log"] = {"syslog": syslog}
        return Event(
            fields=finish_document(document, origin), origin=origin, logsource=self.logsource
        )
