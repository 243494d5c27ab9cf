"""``taintsigma scan`` on the command line: outputs, summary, problems and exit codes."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from helpers import deny_access

from taintsigma.cli.main import cli

TAINT = "module verification failed: signature and/or required key missing - tainting kernel"
FLAGSHIP = "05cad2fb-200c-407f-b472-02ea8c9e5e4a"
LINES = (
    "2026-11-26T03:10:15.000000+00:00 web1 systemd[1]: Started Daily apt upgrade.\n"
    f"2026-11-26T03:10:16.000000+00:00 web1 kernel: evil: {TAINT}\n"
    "2026-11-26T03:10:17.000000+00:00 web1 sshd[9]: Accepted publickey for alice\n"
    "this line has no header\n"
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), obj={})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def syslog(tmp_path: Path) -> Path:
    path = tmp_path / "syslog"
    path.write_text(LINES)
    return path


def test_json_alerts_on_stdout_summary_on_stderr(syslog: Path) -> None:
    code, out, err = run("scan", str(syslog), "--json", "--timezone", "UTC")
    assert code == 1
    alerts = [orjson.loads(line) for line in out.splitlines()]
    assert len(alerts) == 1
    alert = alerts[0]
    assert set(alert) == {"@timestamp", "rule", "event", "source"}
    assert alert["@timestamp"] == "2026-11-26T03:10:16.000Z"
    assert alert["rule"]["id"] == FLAGSHIP
    assert alert["rule"]["name"] == "Tainted Kernel Module Load"
    assert (alert["rule"]["level"], alert["rule"]["risk_score"]) == ("low", 21)
    tactics = [t["tactic"]["id"] for t in alert["rule"]["threat"]]
    assert tactics == ["TA0003", "TA0005"]
    techniques = [t["id"] for entry in alert["rule"]["threat"] for t in entry["technique"]]
    assert techniques == ["T1547", "T1014"]
    assert alert["source"] == {"path": str(syslog), "line": 2, "offset": 77}
    assert alert["event"]["process"] == {"name": "kernel"}
    assert alert["event"]["log"]["offset"] == 77
    assert err.splitlines() == [
        (
            "scanned 1 input, 4 lines read, 3 skipped by the prefilter, 1 event parsed, "
            "0 unparsable with 9 rules: 1 alert"
        ),
        f"         1  Tainted Kernel Module Load ({FLAGSHIP})",
    ]


def test_table_names_rule_host_time_place_and_message(syslog: Path) -> None:
    code, out, _ = run("scan", str(syslog), "--timezone", "UTC")
    assert code == 1
    for text in ("Tainted Kernel Module Load", "low", "web1", "2026-11-26T03:10:16.000Z",
                 f"{syslog}:2", "evil: module verification failed"):  # fmt: skip
        assert text in out


def test_no_alert_exits_0(tmp_path: Path) -> None:
    quiet = tmp_path / "quiet.log"
    quiet.write_text(LINES.replace("tainting kernel", "ok"))
    code, out, err = run("scan", str(quiet))
    assert (code, out) == (0, "")  # not a terminal: one line per alert, so none
    assert err.endswith("with 9 rules: 0 alerts\n")


def test_output_file_and_keep_unparsed(syslog: Path, tmp_path: Path) -> None:
    alerts, unparsed = tmp_path / "alerts.ndjson", tmp_path / "unparsed.log"
    code, out, err = run("scan", str(syslog), "-o", str(alerts), "--keep-unparsed", str(unparsed))
    assert code == 1 and out == ""
    assert [orjson.loads(x)["source"]["line"] for x in alerts.read_text().splitlines()] == [2]
    assert unparsed.read_text() == "this line has no header\n"
    assert "0 skipped by the prefilter, 3 events parsed, 1 unparsable" in err


def test_unreadable_input_is_one_line_and_exit_2(syslog: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "syslog.2.gz"
    corrupt.write_bytes(gzip.compress(LINES.encode())[:30])
    code, out, err = run("scan", str(corrupt), str(syslog), "--json")
    assert code == 2
    assert len(out.splitlines()) == 1  # the good file was still scanned
    errors = [line for line in err.splitlines() if line.startswith("taintsigma: error:")]
    assert errors == [
        (
            f"taintsigma: error: {corrupt}: truncated gzip file (compressed data ends early) "
            "after line 0; the lines before it were scanned"
        )
    ]


def test_binary_file_in_folder_is_a_note(tmp_path: Path, syslog: Path) -> None:
    (tmp_path / "wtmp").write_bytes(bytes(range(256)) * 16)
    code, _, err = run("scan", str(tmp_path), "--json")
    assert code == 1
    assert f"taintsigma: note: {tmp_path / 'wtmp'}: skipped: binary file" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "Invalid value for '--format'"),
        (["--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["-r", "/nonexistent/rules"], "/nonexistent/rules: no such file or folder"),
    ],
)
def test_usage_errors_exit_2(syslog: Path, args: list[str], message: str) -> None:
    code, out, err = run("scan", str(syslog), *args)
    assert code == 2 and out == ""
    assert message in err


def test_no_input_is_a_usage_error() -> None:
    code, _, err = run("scan")
    assert code == 2 and "Missing argument 'INPUTS...'" in err


def test_bundled_samples_alert(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = Path(__file__).parent.parent / "samples"
    code, out, err = run("scan", str(samples), "--json")
    assert code == 1
    alerts = [orjson.loads(line) for line in out.splitlines()]
    by_rule = {}
    for a in alerts:
        by_rule.setdefault(a["rule"]["name"], set()).add(Path(a["source"]["path"]).name)
    assert by_rule == {
        "Tainted Kernel Module Load": {"syslog", "journald.json", "dmesg.txt"},
        "Out-of-Tree Kernel Module Load": {"syslog", "dmesg.txt"},
        # the journald entry arrived through the kernel transport
        "Tainted Kernel Module Load (journald, kernel transport only)": {"journald.json"},
    }
    assert len(alerts) == 6
    assert "0 unparsable" in err


def test_folder_without_read_permission(syslog: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(syslog, locked / "syslog")
    with deny_access(locked):
        code, out, err = run("scan", str(locked), str(syslog), "--json")
    assert code == 2
    assert len(out.splitlines()) == 1  # the other input was scanned
    assert f"taintsigma: error: {locked}: cannot read folder: permission denied" in err


def test_rule_regex_re2_refuses_is_an_error_unless_backtracking_is_chosen(
    syslog: Path, tmp_path: Path
) -> None:
    rule = tmp_path / "lookahead.yml"
    rule.write_text(
        "title: Lookahead\n"
        "id: 00000000-0000-4000-8000-0000000000c1\n"
        "logsource: {product: linux, service: syslog}\n"
        "detection:\n"
        "  selection: {message|re: 'Accepted(?= publickey)'}\n"
        "  condition: selection\n"
        "level: medium\n"
    )
    code, out, err = run("scan", str(syslog), "-r", str(rule), "--json")
    assert (code, out) == (2, "")
    assert "rule 00000000-0000-4000-8000-0000000000c1: regular expression" in err
    assert "with 0 rules: 0 alerts" in err
    code, out, err = run("scan", str(syslog), "-r", str(rule), "--json", "--regex-engine", "re")
    assert code == 1
    assert [orjson.loads(x)["source"]["line"] for x in out.splitlines()] == [3]


def test_closed_stdout_stops_quietly(tmp_path: Path) -> None:
    import subprocess
    import sys

    log = tmp_path / "many.log"
    log.write_text(f"Nov 26 04:10:16 web1 kernel: evil: {TAINT}\n" * 2000)  # ~3 MB of alerts
    process = subprocess.Popen(
        [sys.executable, "-m", "taintsigma.cli.main", "scan", str(log), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.read(100)
    process.stdout.close()  # like `| head -c 100`
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert first.startswith(b'{"@timestamp"')
    assert "error" not in err
