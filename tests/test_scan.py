"""scan_paths end to end: one verdict whatever the input format, prefilter, robustness, inputs."""

from __future__ import annotations

import gzip
import os
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from helpers import make_rule

from taintsigma.logs import reader
from taintsigma.logs.event import Event
from taintsigma.resources import bundled_rules_dir
from taintsigma.scan.run import read_events, scan_paths

FLAGSHIP = "05cad2fb-200c-407f-b472-02ea8c9e5e4a"
OUT_OF_TREE = "713ca263-45d1-4b9a-9121-616e65dc8951"
TAINT = "module verification failed: signature and/or required key missing - tainting kernel"
REGEX_ID = "00000000-0000-4000-8000-000000000001"
LIT_ID = "00000000-0000-4000-8000-000000000002"
KW_ID = "00000000-0000-4000-8000-000000000003"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

# The same four messages, as rsyslog, journald, Filebeat (ECS) and dmesg -T write them.
MESSAGES = [
    ("2026-11-26T03:10:15Z", "kernel", None, "evil: loading out-of-tree module taints kernel."),
    ("2026-11-26T03:10:16Z", "kernel", None, f"evil: {TAINT}"),
    ("2026-11-26T03:11:00Z", "sshd", 1042, f"Invalid user x: {TAINT}"),
    ("2026-11-26T03:12:00Z", "kernel", None, f"rootkit: {TAINT.upper()}"),
]


def _epoch_us(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp).timestamp()) * 1_000_000


def write_formats(folder: Path) -> dict[str, Path]:
    syslog, journald, ecs, dmesg = [], [], [], []
    for stamp, program, pid, message in MESSAGES:
        tag = f"{program}[{pid}]" if pid else program
        syslog.append(f"{stamp} web1 {tag}: {message}")
        entry = {
            "__REALTIME_TIMESTAMP": str(_epoch_us(stamp)),
            "_HOSTNAME": "web1",
            "SYSLOG_IDENTIFIER": program,
            "MESSAGE": message,
        }
        if pid:
            entry["_PID"] = str(pid)
        journald.append(orjson.dumps(entry).decode())
        doc = {
            "@timestamp": stamp.replace("Z", ".000Z"),
            "event": {"dataset": "system.syslog"},
            "host": {"hostname": "web1", "os": {"type": "linux"}},
            "process": {"name": program, **({"pid": pid} if pid else {})},
            "message": message,
        }
        ecs.append(orjson.dumps(doc).decode())
        if program == "kernel":
            moment = datetime.fromisoformat(stamp)
            dmesg.append(f"[{moment.strftime('%a %b %d %H:%M:%S %Y')}] {message}")
    files = {}
    for name, lines in (("syslog", syslog), ("journald", journald), ("ecs", ecs), ("dmesg", dmesg)):
        files[name] = folder / f"{name}.log"
        files[name].write_text("\n".join(lines) + "\n")
    return files


def verdicts(path: Path, **kwargs: object) -> list[tuple[str, str | None, object, str]]:
    scan = scan_paths([path], timezone="UTC", now=NOW, **kwargs)
    return [
        (
            a.rule.id,
            a.timestamp,
            a.event.fields.get("process", {}).get("name"),
            a.event.fields["message"],
        )
        for a in scan
    ]


def test_same_alerts_from_syslog_journald_and_ecs(tmp_path: Path) -> None:
    files = write_formats(tmp_path)
    expected = [
        (OUT_OF_TREE, "2026-11-26T03:10:15.000Z", "kernel", MESSAGES[0][3]),
        (FLAGSHIP, "2026-11-26T03:10:16.000Z", "kernel", f"evil: {TAINT}"),
        (FLAGSHIP, "2026-11-26T03:12:00.000Z", "kernel", f"rootkit: {TAINT.upper()}"),
    ]
    assert verdicts(files["syslog"]) == expected
    assert verdicts(files["journald"]) == expected
    assert verdicts(files["ecs"]) == expected
    assert verdicts(files["dmesg"]) == expected


def test_prefilter_changes_nothing_but_work(tmp_path: Path) -> None:
    files = write_formats(tmp_path)
    for path in files.values():
        assert verdicts(path) == verdicts(path, prefilter=False)
    scan = scan_paths([files["syslog"]], timezone="UTC", now=NOW)
    list(scan)
    # Every line holds a literal of some bundled rule (the out-of-tree or the flagship message).
    assert (scan.summary.lines, scan.summary.skipped, scan.summary.events) == (4, 0, 4)
    flagship_only = scan_paths(
        [files["syslog"]], [bundled_rules_dir() / "tainted_kernel_module_load.yml"], timezone="UTC"
    )
    list(flagship_only)
    # With the flagship alone, only the three lines holding its literal are parsed.
    assert (flagship_only.summary.skipped, flagship_only.summary.events) == (1, 3)


def test_literal_free_rule_still_sees_every_line(tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_text(
        "Nov 26 04:10:16 web1 kernel: evil: " + TAINT + "\n"
        "Nov 26 04:10:17 web1 useradd[7]: new user: name=backdoor, UID=0\n"
        "Nov 26 04:10:18 web1 cron[8]: nothing to see\n"
    )
    regex_rule = make_rule({"selection": {"message|re": r"UID=0\b"}}, rule_id=REGEX_ID)
    literal_rule = make_rule({"selection": {"message|contains": "tainting"}}, rule_id=LIT_ID)
    scan = scan_paths([log], [regex_rule, literal_rule], timezone="UTC", now=NOW)
    assert [(a.rule.id, a.origin.line) for a in scan] == [(LIT_ID, 1), (REGEX_ID, 2)]
    assert scan.summary.events == 3


def test_keyword_rule_and_json_escaped_literal(tmp_path: Path) -> None:
    ecs = tmp_path / "ecs.ndjson"
    ecs.write_text(
        '{"event":{"dataset":"system.syslog"},"host":{"os":{"type":"linux"}},'
        '"process":{"name":"kernel"},'
        '"message":"x: module verification failed: signature and\\/or required key missing'
        ' - tainting kernel"}\n'
        '{"event":{"dataset":"system.syslog"},"host":{"os":{"type":"linux"}},'
        '"message":"sudo: a \\u003cb\\u003e"}\n'
    )
    keyword = make_rule({"keywords": ["a <b>"]}, condition="keywords", rule_id=KW_ID)
    rules = [keyword, *__import__("taintsigma").load_rules()]
    assert [a.rule.id for a in scan_paths([ecs], rules)] == [FLAGSHIP, KW_ID]


def test_folding_characters_list_is_complete() -> None:
    # Recomputed from the Unicode data of this Python: any non-ASCII character whose lower
    # case or case fold holds an ASCII letter must be in the reader's always-parse list.
    found = [
        chr(c)
        for c in range(0x80, 0x110000)
        if unicodedata.category(chr(c)) != "Cs"
        and any(ord(x) < 0x80 for x in chr(c).lower() + chr(c).casefold())
    ]
    assert sorted(found) == sorted(reader.FOLDING_TO_ASCII)


def test_kelvin_sign_is_not_skipped(tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_text("Nov 26 04:10:16 web1 \u212aernel: evil: " + TAINT + "\n", encoding="utf-8")
    assert [a.rule.id for a in scan_paths([log], timezone="UTC", now=NOW)] == [FLAGSHIP]


@pytest.mark.parametrize(
    ("name", "content", "alerts", "unparsed"),
    [
        ("invalid-utf8", b"Nov 26 04:10:16 web1 kernel: \xff\xfe evil: " + TAINT.encode() + b"\n", 1, 0),
        ("nul-bytes", b"\x00\x00\x00Nov 26 04:10:16 web1 kernel: evil\x00: " + TAINT.encode() + b"\n", 1, 0),
        ("crlf", b"Nov 26 04:10:16 web1 kernel: evil: " + TAINT.encode() + b"\r\n", 1, 0),
        ("no-final-newline", b"Nov 26 04:10:15 web1 cron[1]: x\nNov 26 04:10:16 web1 kernel: " + TAINT.encode(), 1, 0),
        ("empty", b"", 0, 0),
        ("megabyte-line", b"Nov 26 04:10:16 web1 kernel: " + b"A" * 3_000_000 + TAINT.encode() + b"\n", 1, 0),
        ("garbage", b"no header here " + TAINT.encode() + b"\n", 0, 1),
    ],
)  # fmt: skip
def test_robust_lines(
    tmp_path: Path, name: str, content: bytes, alerts: int, unparsed: int
) -> None:
    log = tmp_path / name
    log.write_bytes(content)
    scan = scan_paths([log], format="syslog", timezone="UTC", now=NOW)
    assert len(list(scan)) == alerts
    assert scan.summary.unparsed == unparsed
    assert not scan.summary.problems


def test_line_longer_than_max_is_cut_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "MAX_LINE", 1000)
    monkeypatch.setattr(reader, "CHUNK_SIZE", 256)
    log = tmp_path / "long"
    body = b"Nov 26 04:10:16 web1 kernel: " + TAINT.encode() + b" " + b"B" * 5000
    log.write_bytes(
        b"Nov 26 04:10:15 web1 cron[1]: x\n"
        + body
        + b"\nNov 26 04:10:17 web1 kernel: "
        + TAINT.encode()
        + b"\n"
    )
    from taintsigma.logs.reader import ReadStats, read_lines

    stats = ReadStats()
    with log.open("rb") as stream:
        lines = list(read_lines(stream, stats=stats, chunk_size=256, max_line=1000))
    assert [(len(line), number, offset) for line, number, offset, _ in lines] == [
        (31, 1, 0), (1000, 2, 32), (len(TAINT) + 29, 3, 32 + len(body) + 1),
    ]  # fmt: skip
    assert (stats.lines, stats.truncated) == (3, 1)


def test_gzip_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = write_formats(tmp_path)
    packed = tmp_path / "syslog.1.gz"
    packed.write_bytes(gzip.compress(files["syslog"].read_bytes()))
    assert len(verdicts(packed)) == 3
    import io
    import sys

    fake = io.BufferedReader(io.BytesIO(gzip.compress(files["journald"].read_bytes())))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(fake))
    scan = scan_paths(["-"], timezone="UTC")
    assert [a.origin.path for a in scan] == ["-", "-", "-"]


def test_unreadable_inputs_are_reported_and_the_scan_goes_on(tmp_path: Path) -> None:
    files = write_formats(tmp_path / "good") if (tmp_path / "good").mkdir() is None else {}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "corrupt.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"not deflate data at all" * 10)
    (bad / "truncated.gz").write_bytes(gzip.compress(files["syslog"].read_bytes())[:-20])
    (bad / "dangling").symlink_to(bad / "nowhere")
    os.mkfifo(bad / "fifo")
    (bad / "wtmp").write_bytes(bytes(range(256)) * 64)
    (bad / "history.log").write_text("Start-Date: 2026-11-20  06:12:01\nCommandline: apt upgrade\n")
    prose = tmp_path / "prose.txt"
    prose.write_text("Dear diary,\ntoday the kernel was tainted.\n")
    binary = tmp_path / "binary.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    problems = []
    scan = scan_paths(
        [bad, binary, prose, tmp_path / "missing", files["syslog"]],
        bundled_rules_dir() / "tainted_kernel_module_load.yml",
        timezone="UTC",
        now=NOW,
        on_problem=problems.append,
    )
    alerts = list(scan)
    # the truncated file's lines before the damage, and the good file after all the bad ones
    assert [Path(a.origin.path).name for a in alerts] == ["truncated.gz", "syslog.log", "syslog.log"]
    found = {Path(p.path).name: (p.error, p.message) for p in problems}
    assert found["corrupt.gz"][0] and "corrupt gzip data" in found["corrupt.gz"][1]
    assert found["truncated.gz"][0] and "truncated gzip file" in found["truncated.gz"][1]
    assert found["dangling"] == (True, "cannot read: dangling symbolic link")
    assert found["fifo"] == (False, "skipped: not a regular file")
    assert found["wtmp"] == (False, "skipped: binary file (not a log format taintsigma reads)")
    assert found["binary.bin"] == (True, "binary file (not a log format taintsigma reads)")
    assert found["missing"] == (True, "cannot read: no such file or directory")
    unknown = "not a recognised log format (force one with --format)"
    assert found["history.log"] == (False, f"skipped: {unknown}")
    assert found["prose.txt"] == (True, unknown)


def test_journal_binary_file_is_named(tmp_path: Path) -> None:
    journal = tmp_path / "system.journal"
    journal.write_bytes(b"LPKSHHRH" + bytes(200))
    problems = []
    assert list(scan_paths([journal], on_problem=problems.append)) == []
    assert "journalctl -o json" in problems[0].message


def test_several_files_in_two_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import taintsigma.scan.run as scan_module

    files = write_formats(tmp_path)
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_BYTES", 0)
    inputs = [files["syslog"], files["journald"], files["ecs"], files["dmesg"]]
    one = [(a.origin.path, a.origin.line) for a in scan_paths(inputs, timezone="UTC", jobs=1)]
    two = scan_paths(inputs, timezone="UTC", jobs=2)
    assert [(a.origin.path, a.origin.line) for a in two] == one
    assert len(one) == 12
    assert two.summary.lines == 4 + 4 + 4 + 3


def test_read_events_for_plain_json(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text('{"program": "kernel", "message": "' + TAINT + '"}\n')
    events = list(read_events(log))
    assert isinstance(events[0], Event) and events[0].logsource is None
    assert [a.rule.id for a in scan_paths([log])] == [FLAGSHIP]


BRUTE_FORCE_RULES = (
    "title: Failed SSH password\n"
    "id: 00000000-0000-4000-8000-0000000000a1\n"
    "name: failed_ssh_password\n"
    "logsource: {product: linux, service: syslog}\n"
    "detection:\n"
    "  selection: {program: sshd, message|contains: 'Failed password'}\n"
    "  condition: selection\n"
    "level: low\n"
    "---\n"
    "title: SSH brute force\n"
    "id: 00000000-0000-4000-8000-0000000000a2\n"
    "level: high\n"
    "tags: [attack.credential-access, attack.t1110]\n"
    "correlation:\n"
    "  type: event_count\n"
    "  rules: [failed_ssh_password]\n"
    "  group-by: [hostname]\n"
    "  timespan: 1m\n"
    "  condition: {gte: 3}\n"
)


def test_correlation_rule_fires_once_per_window(tmp_path: Path) -> None:
    rules = tmp_path / "brute.yml"
    rules.write_text(BRUTE_FORCE_RULES)
    log = tmp_path / "auth.log"
    failed = "sshd[{}]: Failed password for root from 203.0.113.9 port 4{} ssh2"
    log.write_text(
        "".join(
            f"2026-11-26T03:10:{10 + i:02d}Z web1 {failed.format(100 + i, i)}\n" for i in range(3)
        )
        + "2026-11-26T03:10:20Z web1 cron[5]: nothing\n"
    )
    alerts = list(scan_paths([log], [rules], timezone="UTC"))
    # A rule a correlation uses makes no alerts of its own (Sigma's `generate: false`).
    assert [(a.rule.name, a.origin.line) for a in alerts] == [("SSH brute force", 3)]
    brute = alerts
    correlation = brute[0].to_dict()["event"]["correlation"]
    assert correlation["event_count"] == 3
    assert correlation["group"] == {"hostname": "web1"}
    assert brute[0].to_dict()["rule"]["threat"][0]["tactic"]["id"] == "TA0006"


def test_correlation_windows_do_not_span_inputs(tmp_path: Path) -> None:
    # docs/scan.md: correlations run per input, so two failures in one file and one in the
    # next (within the time span) are not three.
    rules = tmp_path / "brute.yml"
    rules.write_text(BRUTE_FORCE_RULES)
    failed = "web1 sshd[{}]: Failed password for root from 203.0.113.9 port 4{} ssh2\n"
    first, second = tmp_path / "auth.log.1", tmp_path / "auth.log"
    lines = [f"2026-11-26T03:10:1{i}Z {failed.format(100 + i, i)}" for i in range(3)]
    first.write_text("".join(lines[:2]))
    second.write_text(lines[2])
    assert list(scan_paths([first, second], [rules], timezone="UTC", jobs=1)) == []
    second.write_text("".join(lines))
    assert len(list(scan_paths([first, second], [rules], timezone="UTC", jobs=1))) == 1


def test_progress_reports_bytes_read(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_bytes(b"Nov 26 04:10:15 web1 cron[1]: x\n" * 100_000)  # 3.2 MB: several chunks
    calls: list[tuple[int, int]] = []
    scan = scan_paths([log], on_progress=lambda done, total: calls.append((done, total)))
    assert list(scan) == []
    size = log.stat().st_size
    assert len(calls) >= 3
    assert calls[-1] == (size, size)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


# One flagship event per format, and the damage real files carry; every variant must still
# give exactly one alert, from the right line.
POSITIVE = {
    "syslog": b"Nov 26 04:10:16 web1 kernel: evil: " + TAINT.encode(),
    "journald": b'{"__REALTIME_TIMESTAMP":"1795662616000000","_HOSTNAME":"web1",'
    b'"SYSLOG_IDENTIFIER":"kernel","MESSAGE":"evil: ' + TAINT.encode() + b'"}',
    "dmesg": b"[  812.731377] evil: " + TAINT.encode(),
    "ecs": b'{"event":{"dataset":"system.syslog"},"host":{"os":{"type":"linux"}},'
    b'"process":{"name":"kernel"},"message":"evil: ' + TAINT.encode() + b'"}',
    "json": b'{"program":"kernel","message":"evil: ' + TAINT.encode() + b'"}',
}
FILLER = {
    "syslog": b"Nov 26 04:10:15 web1 cron[1]: (root) CMD (true)",
    "journald": b'{"__REALTIME_TIMESTAMP":"1795662615000000","SYSLOG_IDENTIFIER":"cron","MESSAGE":"x"}',
    "dmesg": b"[  811.000000] usb 1-1: new device",
    "ecs": b'{"event":{"dataset":"system.syslog"},"message":"x"}',
    "json": b'{"program":"cron","message":"x"}',
}


def _damaged(fmt: str, variant: str) -> tuple[bytes, int]:
    """The file content for a damage variant, and the line the alert must come from."""
    good, filler = POSITIVE[fmt], FILLER[fmt]
    if variant == "invalid-utf8":
        return filler + b"\n" + good.replace(b"evil", b"ev\xff\xfeil") + b"\n", 2
    if variant == "nul-bytes":
        return b"\x00" * 4096 + filler + b"\n" + b"\x00\x00" + good + b"\n", 2
    if variant == "crlf":
        return filler + b"\r\n" + good + b"\r\n", 2
    if variant == "no-final-newline":
        return filler + b"\n" + good, 2
    if variant == "megabyte-line":
        huge = good.replace(b"evil", b"e" * 3_000_000)
        return filler + b"\n" + huge + b"\n" + filler + b"\n", 2
    raise AssertionError(variant)


@pytest.mark.parametrize(
    "variant", ["invalid-utf8", "nul-bytes", "crlf", "no-final-newline", "megabyte-line"]
)
@pytest.mark.parametrize("fmt", sorted(POSITIVE))
def test_damaged_inputs_every_format(tmp_path: Path, fmt: str, variant: str) -> None:
    content, line = _damaged(fmt, variant)
    log = tmp_path / f"{fmt}-{variant}"
    log.write_bytes(content)
    for chosen in (fmt, "auto"):
        scan = scan_paths([log], format=chosen, timezone="UTC", now=NOW)
        assert [(a.rule.id, a.origin.line) for a in scan] == [(FLAGSHIP, line)], chosen
        assert not scan.summary.problems
        assert scan.summary.unparsed == 0


@pytest.mark.parametrize("fmt", sorted(POSITIVE))
def test_empty_input_every_format(tmp_path: Path, fmt: str) -> None:
    log = tmp_path / "empty"
    log.write_bytes(b"")
    scan = scan_paths([log], format=fmt)
    assert list(scan) == []
    assert (scan.summary.lines, scan.summary.problems) == (0, [])


@pytest.mark.parametrize(
    "names",
    [
        None,  # every rule of tests/rules: some need no literal, so every line is parsed
        ["keywords.yml", "value_lists.yml", "text_contains.yml", "keyword_wildcards.yml"],
    ],
    ids=["all-shapes", "literal-rules"],
)
def test_prefilter_verdicts_equal_full_parse_for_test_rules(names: list[str] | None) -> None:
    # Rule shapes of tests/rules (keywords, wildcards, regexes, lists, numbers, facility, null,
    # exists) plus the bundled rules, over every fixture and sample log: skipping lines must
    # never change an alert.
    root = Path(__file__).parent
    chosen = [root / "rules"] if names is None else [root / "rules" / n for n in names]
    rules = [*chosen, root.parent / "sigma_rules"]
    inputs = [root / "fixtures" / "adapters", root.parent / "samples"]

    def alerts(prefilter: bool) -> tuple[list[tuple[str, str, int]], int]:
        scan = scan_paths(inputs, rules, timezone="UTC", now=NOW, prefilter=prefilter, jobs=1)
        found = [(a.rule.id, a.origin.path, a.origin.line) for a in scan]
        # Audit records are tried only by the rules of their log source (service: auditd,
        # product-only ones), which here all need a literal: their lines may be skipped.
        return found, sum(f.skipped for f in scan.summary.files if f.format != "auditd")

    (with_prefilter, skipped), (without, _) = alerts(True), alerts(False)
    assert with_prefilter == without
    assert len({rule for rule, _, _ in without}) >= 3
    assert (skipped > 0) == (names is not None)


SSHD_ID = "00000000-0000-4000-8000-0000000000b1"
AUDITD_ID = "00000000-0000-4000-8000-0000000000b2"
PROC_ID = "00000000-0000-4000-8000-0000000000b3"


def _service_rules() -> list:
    return [
        make_rule(
            {"keywords": ["Corrupted MAC on input"]}, condition="keywords", rule_id=SSHD_ID,
            logsource={"product": "linux", "service": "sshd"},
        ),
        make_rule(
            {"keywords": ["Corrupted MAC"]}, condition="keywords", rule_id=AUDITD_ID,
            logsource={"product": "linux", "service": "auditd"},
        ),
        make_rule(
            {"selection": {"CommandLine|contains": "Corrupted"}}, rule_id=PROC_ID,
            logsource={"product": "linux", "category": "process_creation"},
        ),
    ]  # fmt: skip


def test_rules_of_other_linux_services_run_on_syslog_lines(tmp_path: Path) -> None:
    # As in Elastic, where a rule runs over the whole index it is given: SigmaHQ's sshd
    # keyword rule fires on the syslog line holding its keyword; auditd and process_creation
    # rules are for other telemetry and are not tried.
    log = tmp_path / "auth.log"
    log.write_text(
        "Nov 26 04:10:16 web1 sshd[42]: Corrupted MAC on input. [preauth]\n"
        "Nov 26 04:10:17 web1 cron[43]: nothing\n"
    )
    for prefilter in (True, False):
        scan = scan_paths([log], _service_rules(), timezone="UTC", now=NOW, prefilter=prefilter)
        assert [(a.rule.id, a.origin.line) for a in scan] == [(SSHD_ID, 1)]


def test_keyword_found_only_in_what_the_adapter_adds(tmp_path: Path) -> None:
    # A keyword searching every value also sees the values an adapter adds: `kernel` in
    # dmesg's process.name, the file's path in log.file.path. The prefilter must not skip
    # those lines although their raw text lacks the keyword. (A service the mappings do not
    # name: the rule of a known one, sshd, runs only on its program's lines.)
    kernel_rule = make_rule(
        {"keywords": ["kernel"]}, condition="keywords", rule_id=SSHD_ID,
        logsource={"product": "linux", "service": "kernel"},
    )  # fmt: skip
    dmesg = tmp_path / "dmesg.txt"
    dmesg.write_text("[    1.000000] usb 1-1: new device\n[    2.000000] eth0: link up\n")
    path_rule = make_rule(
        {"keywords": ["quarantine"]}, condition="keywords", rule_id=AUDITD_ID,
        logsource={"product": "linux", "service": "cron"},
    )  # fmt: skip
    folder = tmp_path / "quarantine"
    folder.mkdir()
    syslog = folder / "syslog"
    syslog.write_text("Nov 26 04:10:16 web1 cron[1]: x\nNov 26 04:10:17 web1 cron[2]: y\n")
    for prefilter in (True, False):
        scan = scan_paths([dmesg, syslog], [kernel_rule, path_rule], prefilter=prefilter, now=NOW)
        found = [(a.rule.id, Path(a.origin.path).name, a.origin.line) for a in scan]
        assert found == [
            (SSHD_ID, "dmesg.txt", 1), (SSHD_ID, "dmesg.txt", 2),
            (AUDITD_ID, "syslog", 1), (AUDITD_ID, "syslog", 2),
        ]  # fmt: skip


def test_continuation_lines_join_their_event_like_filebeat(tmp_path: Path) -> None:
    # The phrase sits in a continuation line (starting with a tab): Filebeat's multiline
    # setting makes it part of the kernel line's message, so the rule fires on that event.
    log = tmp_path / "syslog"
    log.write_text(
        "Nov 26 04:10:15 web1 cron[1]: x\n"
        "Nov 26 04:10:16 web1 kernel: evil: loading module\n"
        f"\t{TAINT}\n"
        "Nov 26 04:10:17 web1 cron[2]: y\n"
    )
    for prefilter in (True, False):
        scan = scan_paths([log], timezone="UTC", now=NOW, prefilter=prefilter)
        alerts = list(scan)
        assert [(a.origin.line, a.origin.offset) for a in alerts] == [(2, 32)]
        assert alerts[0].event.fields["message"] == f"evil: loading module\n\t{TAINT}"
        assert scan.summary.lines == 4


@pytest.mark.parametrize("chunk", [1, 3, 7, 16, 64])
def test_groups_survive_chunk_boundaries(chunk: int) -> None:
    import io

    from taintsigma.logs.reader import ReadStats, make_searcher, read_lines

    data = b"h1 a\n  c1 kernel\n\tc2\nh2 kernel\nh3\n  c3\r\n"
    for all_lines in (False, True):
        stats = ReadStats()
        found = list(
            read_lines(
                io.BytesIO(data), searcher=make_searcher([b"kernel"]), stats=stats,
                chunk_size=chunk, multiline=True, all_lines=all_lines,
            )
        )  # fmt: skip
        expected = [(b"h1 a\n  c1 kernel\n\tc2", 1, 0, True), (b"h2 kernel", 4, 21, True)]
        if all_lines:
            expected.append((b"h3\n  c3", 5, 31, False))
        assert found == expected
        assert stats.lines == 6
