"""The audit log's fast reader (logs/audit_fast.py, scan/audit_filters.py) skips only what no
rule can match: every scan here gives the same alerts, in the same order, with the prefilter
(the fast reader) and without it (every line parsed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taintsigma import scan_paths
from taintsigma.evaluate.prefilter import regex_literals
from taintsigma.scan.routing import compile_for_scan

REPO = Path(__file__).resolve().parent.parent
SIGMAHQ = REPO / "tests" / "corpus" / "sigmahq" / "rules" / "linux"
RULES = compile_for_scan([REPO / "sigma_rules", SIGMAHQ])
HEAD = "type={kind} msg=audit(1764460800.{ms:03d}:{serial}): "


def syscall(serial: int, pid: int, exe: str, number: int = 59, ppid: int | None = None) -> str:
    return HEAD.format(kind="SYSCALL", ms=serial % 1000, serial=serial) + (
        f"arch=c000003e syscall={number} success=yes exit=0 a0=7ffd2c1e a1=55e4a1 a2=0 a3=8 "
        f"items=2 ppid={ppid or pid - 1} pid={pid} auid=1000 uid=0 gid=0 euid=0 suid=0 "
        f'fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=4 comm="x" exe={exe} '
        'subj=unconfined key="exec"'
    )


def record(kind: str, serial: int, body: str) -> str:
    return HEAD.format(kind=kind, ms=serial % 1000, serial=serial) + body


def hexed(text: str) -> str:
    return text.encode().hex().upper()


def alerts(
    path: Path, prefilter: bool, rules: object = None
) -> list[tuple[str, int | None, tuple]]:
    rules = RULES if rules is None else rules
    scan = scan_paths([path], rules, format="auditd", prefilter=prefilter, timezone="UTC")
    return [
        (
            a.rule.id,
            a.origin.line if a.origin else None,
            tuple(sorted(map(str, a.event.fields.items()))),
        )
        for a in scan
    ]


def same_alerts(
    tmp_path: Path, lines: list[str], rules: object = None
) -> list[tuple[str, int | None, tuple]]:
    path = tmp_path / "audit.log"
    path.write_text("\n".join(lines) + "\n")
    fast, full = alerts(path, True, rules), alerts(path, False, rules)
    assert fast == full
    return fast


BASE64 = "e2072cab-8c9a-459b-b63c-40ae79e27031"  # Decode Base64 Encoded Text (process_creation)
INTERACTIVE_BASH = "ea3ecad2-db86-4a89-ad0b-132a10d2db55"  # Interactive Bash Suspicious Children
WGET = "cb39d16b-b3b6-4a7a-8222-1cf24b686ffc"  # Data Exfiltration with Wget (EXECVE record)


def execution(serial: int, pid: int, exe: str, args: list[str], **kw: object) -> list[str]:
    values = " ".join(f"a{i}={a}" for i, a in enumerate(args))
    return [
        syscall(serial, pid, exe, **kw),  # type: ignore[arg-type]
        record("EXECVE", serial, f"argc={len(args)} {values}"),
        record("CWD", serial, 'cwd="/root"'),
        record("PROCTITLE", serial, "proctitle=" + hexed("\0".join(args))),
    ]


def test_a_value_only_hex_encoded_still_alerts(tmp_path: Path) -> None:
    # the image and the arguments are hex-encoded: "base64" and "--post-file=" are not in the line
    lines = execution(1, 4000, hexed("/opt/my tools/base64"), [hexed("my base64"), hexed("-d x")])
    lines += execution(2, 4002, '"/usr/bin/wget"', ['"wget"', hexed("--post-file=/etc/a b")])
    found = {rule for rule, _, _ in same_alerts(tmp_path, lines)}
    assert {BASE64, WGET} <= found


def test_records_of_one_event_split_by_other_events(tmp_path: Path) -> None:
    first = execution(10, 5000, '"/usr/bin/base64"', ['"base64"', '"-d"'])
    other = execution(11, 5001, '"/usr/bin/ls"', ['"ls"'])
    lines = [first[0], other[0], other[1], first[1], other[2], first[2], other[3], first[3]]
    found = same_alerts(tmp_path, lines)
    assert [rule for rule, _, _ in found].count(BASE64) == 1


def test_a_truncated_last_event_still_alerts(tmp_path: Path) -> None:
    lines = execution(20, 6000, '"/usr/bin/ls"', ['"ls"'])
    lines += execution(21, 6001, '"/usr/bin/base64"', ['"base64"', '"-d"'])[:2]  # no CWD, no end
    found = same_alerts(tmp_path, lines)
    assert [rule for rule, _, _ in found].count(BASE64) == 1


def test_a_parent_read_lazily_is_the_same(tmp_path: Path) -> None:
    # the parent (not a candidate itself) is only remembered; its child's event names it
    parent = execution(30, 7000, '"/usr/sbin/nginx"', ['"nginx"'])
    child = execution(31, 7001, '"/usr/bin/whoami"', ['"whoami"'], ppid=7000)
    found = same_alerts(tmp_path, parent + child)
    assert any(
        "ParentImage" in str(fields) and "/usr/sbin/nginx" in str(fields) for _, _, fields in found
    )


def test_a_parent_command_line_read_lazily(tmp_path: Path) -> None:
    # Interactive Bash Suspicious Children: ParentCommandLine 'bash -i', the parent's
    # arguments only in its EXECVE line (the parent itself matches no rule)
    parent = execution(50, 9000, '"/usr/bin/bash"', ['"bash"', '"-i"'])
    child = execution(51, 9001, '"/usr/bin/whoami"', ['"whoami"'], ppid=9000)
    only = compile_for_scan(
        [SIGMAHQ / "process_creation" / "proc_creation_lnx_susp_interactive_bash.yml"]
    )
    found = same_alerts(tmp_path, parent + child, only)
    assert INTERACTIVE_BASH in {rule for rule, _, _ in found}


def test_a_rule_without_literals_reads_every_line(tmp_path: Path) -> None:
    rule = tmp_path / "free.yml"
    rule.write_text(
        "title: Any non-root execution\nid: 0e0e0e0e-0000-4000-8000-000000000001\nstatus: test\n"
        "logsource: {product: linux, category: process_creation}\n"
        "detection:\n  filter: {User: '0'}\n  condition: not filter\nlevel: low\n"
    )
    path = tmp_path / "audit.log"
    lines = execution(40, 8000, '"/usr/bin/true"', ['"true"'])
    path.write_text("\n".join(lines).replace("uid=0 gid", "uid=1000 gid") + "\n")
    rules = compile_for_scan([rule])
    fast = list(scan_paths([path], rules, format="auditd", timezone="UTC"))
    assert [a.rule.name for a in fast] == ["Any non-root execution"]


@pytest.mark.parametrize(
    "fixture",
    ["tests/fixtures/telemetry/audit.log", "tests/fixtures/telemetry/same_execution/audit.log",
     "tests/fixtures/adapters/auditd/audit.log"],
)  # fmt: skip
def test_fixtures_alert_alike_with_and_without_the_fast_reader(fixture: str) -> None:
    path = REPO / fixture
    assert alerts(path, True) == alerts(path, False)


def test_regex_literals() -> None:
    assert regex_literals(r"-(W|R)\s?(\s|\"|')") == {"-w", "-r"}
    assert regex_literals("(foo|bar)baz") == {"foobaz", "barbaz"}
    assert regex_literals("ab?c") == {"a"}  # only what every match holds
    assert regex_literals("[[:alpha:]]x") is None  # RE2-only syntax: not read
    assert regex_literals("(?=x)y") is None


def test_every_line_is_counted_once(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    lines = execution(60, 9100, '"/usr/bin/base64"', ['"base64"', '"-d"'])
    lines += ["   ", "time->Mon Nov 30 00:00:00 2026", "type=EXECVE cut short", ""]
    lines += execution(61, 9101, '"/usr/bin/ls"', ['"ls"'])
    path.write_text("\n".join(lines) + "\n")
    scan = scan_paths([path], RULES, format="auditd", timezone="UTC")
    list(scan)
    (summary,) = scan.summary.files
    assert summary.lines == len(lines)
    assert summary.lines == summary.skipped + summary.blank + summary.events + summary.unparsed
    assert summary.unparsed == 1 and summary.blank == 2  # the empty line is only skipped


def test_enriched_and_interleaved_executions_alike(tmp_path: Path) -> None:
    # ENRICHED SYSCALL records (read in full), a failed execve, a parent named by its child
    first = execution(70, 9200, '"/usr/sbin/nginx"', ['"nginx"'])
    first[0] += '\x1dARCH=x86_64 SYSCALL=execve AUID="alice" UID="root"'
    failed = execution(71, 9201, '"/usr/bin/base64"', ['"base64"', '"-d"'], ppid=9200)
    failed[0] = failed[0].replace("success=yes exit=0", "success=no exit=-13")
    child = execution(72, 9202, '"/usr/bin/whoami"', ['"whoami"'], ppid=9200)
    found = same_alerts(tmp_path, first + failed + child)
    assert not any("base64" in str(fields) for _, _, fields in found)
    assert any("/usr/sbin/nginx" in str(fields) for _, _, fields in found)
