"""The flagship scan's fast paths (issue 14): raw chunks searched case-insensitively, lines
carrying audit records or Sysmon events parsed only when some rule can see those records."""

from __future__ import annotations

from pathlib import Path

import pytest

from taintsigma.logs.reader import ReadStats, make_searcher, read_lines
from taintsigma.resources import bundled_rules_dir
from taintsigma.scan.routing import DERIVED_SERVICES
from taintsigma.scan.run import read_events, scan_paths

REPO = Path(__file__).resolve().parent.parent
FLAGSHIP = bundled_rules_dir() / "tainted_kernel_module_load.yml"
AUDIT_RULE = bundled_rules_dir() / "kernel_module_load_syscall_auditd.yml"
TAINT = "module verification failed: signature and/or required key missing - tainting kernel"
CARRYING = [
    REPO / "tests" / "fixtures" / "adapters" / "syslog" / "telemetry.log",
    REPO / "tests" / "fixtures" / "adapters" / "journald" / "telemetry.json",
    REPO / "tests" / "fixtures" / "telemetry" / "same_execution" / "sysmon.log",
]


@pytest.mark.parametrize(
    "line",
    [
        TAINT,
        TAINT.upper(),
        TAINT.title(),
        TAINT.replace("kernel", "\u212aernel"),  # Kelvin sign: folds to k
        TAINT.replace("missing", "mi\u017fsing"),  # long s: folds to s
    ],
)
def test_the_raw_searcher_finds_every_case(line: str) -> None:
    find = make_searcher([TAINT.encode()])
    raw = f"a: {line}\n".encode()
    assert 0 <= find(raw, 0) <= 3


def test_a_full_case_folding_character_makes_its_line_a_candidate() -> None:
    """``ß`` folds to ``ss``: the evaluator may find ``ss`` where the bytes do not hold it."""
    find = make_searcher([b"ss"])
    raw = "no\nstra\u00dfe\n".encode()
    assert find(raw, 0) == raw.index("\u00df".encode())
    assert find(b"nothing here\n", 0) == -1


def test_hit_lines_keep_their_numbers_and_every_line_is_counted(tmp_path: Path) -> None:
    lines = [f"line {i} {'TAINTING Kernel' if i % 700 == 3 else 'plain'}" for i in range(5000)]
    data = ("\n".join(lines) + "\n").encode()
    stats = ReadStats()
    import io

    found = list(
        read_lines(io.BytesIO(data), searcher=make_searcher([b"tainting kernel"]), stats=stats,
                   chunk_size=4096)
    )  # fmt: skip
    assert [(number, line.decode()) for line, number, _, _ in found] == [
        (i + 1, lines[i]) for i in range(5000) if i % 700 == 3
    ]
    assert stats.lines == 5000


def test_derived_events_carry_a_category_or_a_derived_service() -> None:
    """The prefilter skips lines carrying records when no rule names a category or one of
    DERIVED_SERVICES: the events built from them must never have another log source."""
    seen = set()
    for path in CARRYING:
        for item in read_events(path, timezone="UTC"):
            if getattr(item, "derived", False):
                source = item.logsource
                assert source is not None and source.product == "linux"
                assert source.category is not None or source.service in DERIVED_SERVICES
                seen.add((source.category, source.service))
    assert ("process_creation", None) in seen and (None, "auditd") in seen


@pytest.mark.parametrize("path", CARRYING, ids=lambda p: p.name)
def test_lines_carrying_records_are_parsed_only_for_rules_that_see_them(path: Path) -> None:
    flagship = scan_paths(path, [FLAGSHIP], timezone="UTC")
    assert list(flagship) == []
    summary = flagship.summary.files[0]
    assert summary.derived == 0  # no rule sees the records: their lines were skipped
    assert summary.skipped == summary.lines - summary.blank - summary.events - summary.joined
    unfiltered = scan_paths(path, [FLAGSHIP], timezone="UTC", prefilter=False)
    assert list(unfiltered) == []
    assert unfiltered.summary.files[0].derived > 0
    both = scan_paths(path, [FLAGSHIP, AUDIT_RULE, REPO / "tests" / "corpus" / "sigmahq" /
                             "rules" / "linux"], timezone="UTC")  # fmt: skip
    alerts = [a.to_dict() for a in both]
    assert both.summary.files[0].derived > 0
    everything = scan_paths(
        path,
        [FLAGSHIP, AUDIT_RULE, REPO / "tests" / "corpus" / "sigmahq" / "rules" / "linux"],
        timezone="UTC",
        prefilter=False,
    )
    assert [a.to_dict() for a in everything] == alerts


def _kernel_records(count: int) -> str:
    """A syslog file of records the kernel prints without auditd (numeric types): AppArmor
    denials no rule looks for, among executions and module loads that rules match."""
    lines = []
    for i in range(count):
        serial = 1000 + i
        head = f"Nov 30 10:{i // 60 % 60:02d}:{i % 60:02d} h kernel: [ {i}.5] audit: "
        stamp = f"audit(1764496800.{i % 1000:03d}:{serial}): "
        lines.append(
            head + "type=1400 " + stamp + 'apparmor="DENIED" operation="open" class="file" '
            'profile="/usr/sbin/cupsd" name="/etc/ssl/private/" pid=8161 comm="cupsd" '
            'requested_mask="r" denied_mask="r" fsuid=0 ouid=0'
        )
        if i % 50 == 7:  # finit_module (313 on x86_64), as the bundled auditd rule looks for
            lines.append(
                head + "type=1300 " + stamp + "arch=c000003e syscall=313 success=yes exit=0 "
                'a0=3 a1=0 a2=0 a3=0 items=0 ppid=1 pid=4242 auid=0 uid=0 comm="insmod" '
                'exe="/usr/bin/kmod" key=(null)'
            )
        if i % 50 == 21:  # an execution: SYSCALL, EXECVE (one argument hex-encoded), CWD
            lines.append(
                head + "type=1300 " + stamp + "arch=c000003e syscall=59 success=yes exit=0 "
                'a0=1 a1=2 a2=3 a3=0 items=2 ppid=4100 pid=4243 auid=1000 uid=0 comm="chattr" '
                'exe="/usr/bin/chattr"'
            )
            lines.append(head + "type=1309 " + stamp + 'argc=3 a0="chattr" a1="-i" a2='
                         + "/etc/pass wd".encode().hex().upper())  # fmt: skip
            lines.append(head + "type=1307 " + stamp + 'cwd="/root"')
    return "\n".join(lines) + "\n"


def test_carried_records_no_rule_needs_are_skipped_with_the_same_alerts(tmp_path: Path) -> None:
    """A kernel-carried audit record is parsed when its type or text may match a rule that
    sees such records (or it builds an execution): the AppArmor denials here are skipped, and
    the alerts are those of a scan without the prefilter."""
    path = tmp_path / "kernel.log"
    path.write_text(_kernel_records(400), encoding="utf-8")
    rules = [FLAGSHIP, AUDIT_RULE, REPO / "tests" / "corpus" / "sigmahq" / "rules" / "linux"]
    filtered = scan_paths(path, rules, timezone="UTC")
    alerts = [a.to_dict() for a in filtered]
    everything = scan_paths(path, rules, timezone="UTC", prefilter=False)
    assert [a.to_dict() for a in everything] == alerts
    names = sorted(a["rule"]["name"] for a in alerts)
    assert names == sorted(
        ["Kernel Module Load System Call (auditd)", "Loading of Kernel Module via Insmod",
         "Remove Immutable File Attribute - Auditd", "Remove Immutable File Attribute"] * 8
    )  # fmt: skip
    summary, full = filtered.summary.files[0], everything.summary.files[0]
    assert summary.events < 400 / 2  # the 400 denials were not parsed
    assert full.events >= 400
