"""The syslog adapter: Filebeat's grok order field by field, year inference, time zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from taintsigma.errors import TaintSigmaError
from taintsigma.logs.common import parse_timezone
from taintsigma.logs.event import Event, Location
from taintsigma.logs.sniff import sniff
from taintsigma.logs.syslog import SyslogAdapter

HERE = Location(path="/var/log/syslog", line=7, offset=512)


def parse(line: str, **kwargs: object) -> dict:
    adapter = SyslogAdapter(
        **{"timezone": UTC, "now": datetime(2026, 11, 26, tzinfo=UTC), **kwargs}
    )
    event = adapter.parse(line.encode(), HERE)
    assert isinstance(event, Event)
    return dict(event.fields)


# What Filebeat's system/syslog ingest pipeline makes of each header form (its four grok
# patterns in order, the date processor, POSINT pids as long), field by field.
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "1986-04-26T01:23:45.101+0400 rmbk04 shutdown[2649]: shutting down for system halt",
            {"@timestamp": "1986-04-25T21:23:45.101Z", "host": "rmbk04", "process": {"name": "shutdown", "pid": 2649},
             "message": "shutting down for system halt"},
        ),
        (
            "1986-04-26T01:23:45.388424+04:00 rmbk04 thermald: constraint_0_power_limit_uw exceeded.",
            {"@timestamp": "1986-04-25T21:23:45.388Z", "host": "rmbk04", "process": {"name": "thermald"},
             "message": "constraint_0_power_limit_uw exceeded."},
        ),
        (
            "Dec 13 11:35:28 a-mac GoogleSoftwareUpdateAgent[21412]: 2016-12-13 11:35:28.420 x[1/0x7] y",
            {"@timestamp": "2025-12-13T11:35:28.000Z", "host": "a-mac",
             "process": {"name": "GoogleSoftwareUpdateAgent", "pid": 21412},
             "message": "2016-12-13 11:35:28.420 x[1/0x7] y"},
        ),
        (
            "Apr  4 03:39:57 --- last message repeated 1 time ---",
            {"@timestamp": "2026-04-04T03:39:57.000Z", "host": None, "process": None,
             "message": "--- last message repeated 1 time ---"},
        ),
        (
            "2022-04-21T14:30:00Z greedy single line",
            {"@timestamp": "2022-04-21T14:30:00.000Z", "host": None, "process": None,
             "message": "greedy single line"},
        ),
    ],
)  # fmt: skip
def test_filebeat_parity(line: str, expected: dict) -> None:
    fields = parse(line)
    got = {
        "@timestamp": fields.get("@timestamp"),
        "host": fields.get("host", {}).get("hostname"),
        "process": fields.get("process"),
        "message": fields["message"],
    }
    assert got == expected
    assert fields["event"]["dataset"] == "system.syslog"
    assert fields["host"]["os"] == {"type": "linux"}
    assert fields["log"]["file"] == {"path": "/var/log/syslog"}
    assert fields["log"]["offset"] == 512


@pytest.mark.parametrize(
    ("line", "now", "year"),
    [
        ("Dec 31 23:59:59 h p: m", datetime(2027, 1, 1, 0, 5, tzinfo=UTC), 2026),  # read in January
        ("Jan  1 00:00:01 h p: m", datetime(2026, 12, 31, 23, 59, tzinfo=UTC), 2026),  # clock skew
        ("Nov 27 12:00:00 h p: m", datetime(2026, 11, 26, 12, 0, tzinfo=UTC), 2026),  # one day ahead
        ("Nov 28 12:00:01 h p: m", datetime(2026, 11, 26, 12, 0, tzinfo=UTC), 2025),  # further: last year
    ],
)  # fmt: skip
def test_year_inference(line: str, now: datetime, year: int) -> None:
    assert parse(line, now=now)["@timestamp"].startswith(str(year))


def test_timezone_applies_to_headers_without_offset_only() -> None:
    paris = ZoneInfo("Europe/Paris")
    summer = parse("Jul 14 12:00:00 h p: m", timezone=paris)
    winter = parse("Nov 26 12:00:00 h p: m", timezone=paris)
    assert (summer["@timestamp"], summer["event"]["timezone"]) == (
        "2026-07-14T10:00:00.000Z",
        "+02:00",
    )
    assert (winter["@timestamp"], winter["event"]["timezone"]) == (
        "2026-11-26T11:00:00.000Z",
        "+01:00",
    )
    assert (
        parse("2026-11-26T12:00:00+05:30 h p: m", timezone=paris)["@timestamp"]
        == "2026-11-26T06:30:00.000Z"
    )
    assert (
        parse("2026-11-26T12:00:00 h p: m", timezone=paris)["@timestamp"]
        == "2026-11-26T11:00:00.000Z"
    )


@pytest.mark.parametrize(
    ("name", "offset"),
    [("UTC", "+00:00"), ("+02:00", "+02:00"), ("-0530", "-05:30"), ("Asia/Tokyo", "+09:00")],
)
def test_parse_timezone(name: str, offset: str) -> None:
    moment = datetime(2026, 11, 26, 12, 0, tzinfo=parse_timezone(name))
    assert moment.isoformat().endswith(offset)


def test_unknown_timezone_is_one_clear_error() -> None:
    with pytest.raises(TaintSigmaError, match="unknown time zone 'Mars/Olympus': use 'local'"):
        parse_timezone("Mars/Olympus")


@pytest.mark.parametrize(
    ("head", "format"),
    [
        (b"\x00\x00\x00\x00Nov 26 04:10:16 web1 kernel: after a crash\n", "syslog"),
        (b"<13>1 2026-11-26T04:10:16Z h app - - - m\n", "syslog"),
        (b'{"MESSAGE":"x","_TRANSPORT":"kernel"}\n', "journald"),
        (b'{"process.name":"kernel","message":"x"}\n', "ecs"),
        (b'{"program":"kernel","message":"x"}\n', "json"),
        (b"kern  :info  : [    1.000000] x\n", "dmesg"),
        (b"", "syslog"),
    ],
)
def test_sniff(head: bytes, format: str) -> None:
    assert sniff(head).format == format


def test_local_timezone_keeps_daylight_saving(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")
    zone = parse_timezone("local")
    assert (
        parse("Jul 14 12:00:00 h p: m", timezone=zone)["@timestamp"] == "2026-07-14T10:00:00.000Z"
    )
    assert (
        parse("Nov 26 12:00:00 h p: m", timezone=zone)["@timestamp"] == "2026-11-26T11:00:00.000Z"
    )
