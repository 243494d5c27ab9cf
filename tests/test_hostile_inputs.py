"""Damaged and moving inputs, careless API calls and CLI messages: nothing lost, nothing
misattributed, one line per problem (issue 12)."""

from __future__ import annotations

import fcntl
import gzip
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import zlib
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from regen_golden import REPO

import taintsigma
from taintsigma import TaintSigmaError, read_events, scan_paths
from taintsigma.cli.main import cli
from taintsigma.logs.ecs_ndjson import EcsNdjsonAdapter
from taintsigma.logs.event import Location
from taintsigma.logs.journald import JournaldAdapter

TAINT = "module verification failed: signature and/or required key missing - tainting kernel"
HIT = f"2026-11-26T03:10:16.000000+00:00 web1 kernel: evil: {TAINT}\n"
BOX = re.compile("[\u2500-\u257f]")


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), obj={}, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def quiet_lines(count: int, start: int = 0) -> list[str]:
    return [
        f"2026-11-26T03:{i // 60 % 60:02d}:{i % 60:02d}+00:00 web1 sshd[{i}]: "
        f"Accepted password for user{i} from 10.0.{i % 250}.{i % 200} port {i}\n"
        for i in range(start, start + count)
    ]


def zcat_lines(data: bytes) -> int:
    """Lines ``zcat`` recovers from (possibly damaged) gzip data, a cut last line included."""
    inflate = zlib.decompressobj(wbits=31)
    out = b""
    try:
        out = inflate.decompress(data)
    except zlib.error:
        pass
    return out.count(b"\n") + (1 if out and not out.endswith(b"\n") else 0)


def test_a_truncated_gz_gives_every_line_decoded_before_the_damage(tmp_path: Path) -> None:
    # ~7 MB of text: several 1 MiB chunks, the alert near the end of what survives.
    lines = quiet_lines(60_000)
    lines[52_000] = HIT
    whole = gzip.compress("".join(lines).encode())
    cut = whole[: len(whole) * 9 // 10]
    path = tmp_path / "syslog.1.gz"
    path.write_bytes(cut)
    problems: list[object] = []
    scan = scan_paths([path], timezone="UTC", on_problem=problems.append)
    alerts = list(scan)
    assert [a.origin.line for a in alerts] == [52_001]
    assert scan.summary.lines == zcat_lines(cut) > 52_001
    (problem,) = problems
    assert str(problem) == (
        f"{path}: truncated gzip file (compressed data ends early) after line "
        f"{scan.summary.lines}; the lines before it were scanned"
    )
    with pytest.raises(taintsigma.InputError, match="truncated gzip file"):
        list(read_events(path, timezone="UTC"))
    assert sum(1 for _ in _events_until_error(path)) == zcat_lines(cut)


def _events_until_error(path: Path) -> list[object]:
    items: list[object] = []
    try:
        items.extend(read_events(path, timezone="UTC"))  # keeps what came before the error
    except taintsigma.InputError:
        pass
    return items


def test_a_small_truncated_gz_is_not_read_as_empty(tmp_path: Path) -> None:
    # zcat recovered 1,947 lines and an alert; taintsigma read 0.
    path = tmp_path / "small.gz"
    path.write_bytes(gzip.compress((HIT + "".join(quiet_lines(2000))).encode())[:-30])
    code, out, err = run("scan", str(path), "--timezone", "UTC")
    assert code == 2
    assert out.count("tainting kernel") == 1
    assert "truncated gzip file" in err and "lines before it were scanned" in err


def test_gz_members_and_zero_padding_still_read(tmp_path: Path) -> None:
    path = tmp_path / "joined.gz"
    path.write_bytes(gzip.compress(HIT.encode()) + gzip.compress(HIT.encode()) + bytes(512))
    problems: list[object] = []
    scan = scan_paths(path, timezone="UTC", on_problem=problems.append)
    assert len(list(scan)) == 2 and problems == []


def test_a_file_truncated_while_being_scanned_is_reported(tmp_path: Path) -> None:
    # logrotate's copytruncate empties the file under the reader.
    path = tmp_path / "syslog"
    path.write_text(HIT + "".join(quiet_lines(60_000)))
    assert path.stat().st_size > 3 << 20  # more than the chunks read before the first alert
    problems: list[object] = []
    scan = scan_paths([path], timezone="UTC", on_problem=problems.append)
    for _ in scan:
        os.truncate(path, 0)
    (problem,) = problems
    assert "the file was truncated while being read (now 0 bytes" in str(problem)
    assert "copytruncate" in str(problem)


def test_the_cli_exits_2_on_a_file_truncated_under_it(tmp_path: Path) -> None:
    path = tmp_path / "syslog"
    path.write_text("".join(quiet_lines(100)))
    original = taintsigma.scan.run._scan_stream  # type: ignore[attr-defined]

    def truncating(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        yield from original(*args, **kwargs)
        os.truncate(path, 10)

    mp = pytest.MonkeyPatch()
    mp.setattr(taintsigma.scan.run, "_scan_stream", truncating)  # type: ignore[attr-defined]
    try:
        code, _, err = run("scan", str(path), "--no-prefilter")
    finally:
        mp.undo()
    assert code == 2 and "truncated while being read" in err


def test_journald_entry_with_a_bad_time_stamp_is_kept_with_a_note() -> None:
    line = b'{"MESSAGE":"evil: ' + TAINT.encode() + b'","SYSLOG_IDENTIFIER":"kernel",'
    event = JournaldAdapter().parse(
        line + b'"__REALTIME_TIMESTAMP":"17x"}', Location(path="j", line=1)
    )
    assert isinstance(event, taintsigma.Event)
    assert "@timestamp" not in event.fields
    assert event.fields["error"] == {"message": "invalid __REALTIME_TIMESTAMP '17x'"}
    assert event.fields["process"] == {"name": "kernel"}


def test_journald_bad_time_stamp_still_alerts(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    path.write_text(
        orjson.dumps(
            {"MESSAGE": f"evil: {TAINT}", "SYSLOG_IDENTIFIER": "kernel",
             "__REALTIME_TIMESTAMP": "not-a-number", "_HOSTNAME": "db2"}
        ).decode() + "\n"
    )  # fmt: skip
    alerts = list(scan_paths(path))
    assert len(alerts) == 1 and alerts[0].timestamp is None


@pytest.mark.parametrize("stamp", ["yesterday", "", "2026-13-45T99:00:00Z", True, ["x"]])
def test_an_ecs_time_stamp_that_is_no_time_is_not_the_alerts(stamp: object, tmp_path: Path) -> None:
    path = tmp_path / "ecs.ndjson"
    path.write_bytes(
        orjson.dumps({"@timestamp": stamp, "event": {"dataset": "system.syslog"},
                      "process": {"name": "kernel"}, "message": f"evil: {TAINT}",
                      "host": {"os": {"type": "linux"}}}) + b"\n"
    )  # fmt: skip
    (alert,) = list(scan_paths(path))
    assert alert.timestamp is None
    assert alert.to_dict()["@timestamp"] is None
    assert "@timestamp" not in alert.to_dict()["event"]
    assert alert.event.fields["error"]["message"].startswith("invalid @timestamp")


@pytest.mark.parametrize("stamp", ["2026-11-26T03:06:02.901Z", "2026-11-26", 1764126362901])
def test_an_ecs_time_stamp_elasticsearch_takes_is_kept(stamp: object) -> None:
    raw = orjson.dumps({"@timestamp": stamp, "message": "m"})
    event = EcsNdjsonAdapter().parse(raw, Location(path="e", line=1))
    assert isinstance(event, taintsigma.Event) and event.fields["@timestamp"] == stamp


def test_iterating_a_scan_twice_raises_instead_of_doubling(tmp_path: Path) -> None:
    path = tmp_path / "syslog"
    path.write_text(HIT)
    scan = scan_paths([path], timezone="UTC")
    assert len(list(scan)) == 1
    with pytest.raises(TaintSigmaError, match="already iterated"):
        list(scan)
    assert scan.summary.alerts == 1 and scan.summary.lines == 1


def test_read_events_reads_time_stamps_in_local_time_as_scan_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    path = tmp_path / "syslog"
    path.write_text(f"Nov 26 12:10:16 web1 kernel: evil: {TAINT}\n")
    from datetime import datetime

    now = datetime(2026, 11, 27)
    (event,) = list(read_events(path, now=now))
    (alert,) = list(scan_paths(path, now=now))
    assert event.fields["@timestamp"] == alert.timestamp == "2026-11-26T03:10:16.000Z"


def test_a_folder_link_in_a_log_folder_is_skipped_with_a_note(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "syslog").write_text(HIT)
    (logs / "loop").symlink_to(".")
    problems: list[object] = []
    scan = scan_paths(logs, timezone="UTC", on_problem=problems.append)
    assert len(list(scan)) == 1
    assert [str(p) for p in problems] == [
        f"{logs}/loop: skipped: symbolic link to a folder (not followed)"
    ]


# --- CLI messages ---------------------------------------------------------------------------


def samples() -> str:
    return str(REPO / "samples")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-o", "/nonexistent/dir/x"],
            "/nonexistent/dir/x: cannot write: no such file or directory",
        ),
        (["--timezone", "+25:00"], "time zone offset '+25:00' out of range: use -23:59 to +23:59"),
        (["--keep-unparsed", "/nonexistent/u"], "/nonexistent/u: cannot write: no such file"),
    ],
    ids=["output-folder-missing", "timezone-out-of-range", "keep-unparsed-folder-missing"],
)
def test_user_errors_are_one_line_not_internal_errors(args: list[str], message: str) -> None:
    code, _, err = run("scan", samples(), *args)
    assert code == 2
    assert "internal error" not in err
    assert f"taintsigma: error: {message}" in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("how", ["-o", "stdout", "stdout-json"])
def test_a_full_disk_is_one_line_naming_the_output(how: str) -> None:
    args = [sys.executable, "-m", "taintsigma.cli.main", "scan", samples()]
    if how == "-o":
        args += ["-o", "/dev/full"]
    if how == "stdout-json":
        args += ["--json"]
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            args, stdout=full if how != "-o" else None, stderr=subprocess.PIPE, text=True,
            timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 2
    where = "/dev/full" if how == "-o" else "standard output"
    assert f"taintsigma: error: {where}: cannot write: no space left on device" in done.stderr
    assert "internal error" not in done.stderr


def test_stdin_named_twice_is_an_input_error() -> None:
    code, out, err = run("scan", "-", "-", "--timezone", "UTC", stdin=HIT)
    assert code == 2
    assert "taintsigma: error: -: standard input named more than once" in err
    assert "internal error" not in err
    assert out.count("tainting kernel") == 1


def test_piped_output_is_every_alert_one_plain_line_each(tmp_path: Path) -> None:
    path = tmp_path / "syslog"
    path.write_text(HIT * 1500)
    code, out, _ = run("scan", str(path), "--timezone", "UTC")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 1500  # the table stopped at 1,000 ("… and 500 more")
    assert not BOX.search(out) and "more alerts" not in out
    assert lines[0].split("\t") == [
        f"{path}:1",
        "low",
        "Tainted Kernel Module Load",
        "web1",
        "2026-11-26T03:10:16.000Z",
        f"evil: {TAINT}",
    ]
    assert lines[-1].startswith(f"{path}:1500\t")


def test_a_multiline_message_stays_on_its_alert_line(tmp_path: Path) -> None:
    path = tmp_path / "syslog"
    path.write_text(HIT.rstrip("\n") + "\n  continued\there\n")
    _, out, _ = run("scan", str(path), "--timezone", "UTC")
    (line,) = out.splitlines()
    assert line.endswith(f"evil: {TAINT} continued here")


def _on_terminal(columns: int, *args: str) -> str:
    """Run ``taintsigma`` with stdout on a pseudo-terminal of ``columns`` columns."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm"
    process = subprocess.Popen(
        [sys.executable, "-m", "taintsigma.cli.main", *args],
        stdout=slave, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    os.close(slave)
    out = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not data:
            break
        out += data
    process.wait(timeout=120)
    os.close(master)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode()).replace("\r", "")


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_the_table_on_a_terminal_fits_its_width(columns: int) -> None:
    text = _on_terminal(columns, "scan", samples(), "--timezone", "UTC")
    lines = [line for line in text.splitlines() if line]
    assert BOX.search(text)  # a terminal still gets the table
    assert max(len(line) for line in lines) <= columns
    assert all(line.rstrip().endswith(("┓", "┃", "┩", "│", "┘")) for line in lines[:-1])
    assert text.count("│ low ") == 6  # one row per alert of the samples (all six are low)
