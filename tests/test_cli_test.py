"""``taintsigma test``: each rule's sample events, judged by the native evaluator and eql."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from taintsigma.cli.main import cli
from taintsigma.resources import bundled_rules_dir
from taintsigma.ruletest import check_samples

STEM = "tainted_kernel_module_load"
FLAGSHIP_ID = "05cad2fb-200c-407f-b472-02ea8c9e5e4a"
AUDITD_ID = "8b607d0a-8958-4ed3-92ed-175ea3c65241"
TAINT = "module verification failed: signature and/or required key missing - tainting kernel"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), obj={})
    return result.exit_code, result.stdout, result.stderr


def copy_flagship(folder: Path) -> Path:
    shutil.copy(bundled_rules_dir() / f"{STEM}.yml", folder / f"{STEM}.yml")
    shutil.copytree(bundled_rules_dir() / f"{STEM}.events", folder / f"{STEM}.events")
    return folder / f"{STEM}.yml"


def test_bundled_samples_pass_in_both_engines() -> None:
    report = check_samples()
    assert len(report.rules) == len(list(bundled_rules_dir().glob("*.yml"))) == 9
    for outcome in report.rules:
        assert (outcome.failures, outcome.problems) == ([], []), outcome.title
        assert outcome.positives and outcome.negatives, outcome.title
        events = outcome.positives + outcome.negatives
        if outcome.rule_id == AUDITD_ID:
            # audit.log records are in auditd's own names: the ECS query cannot judge them.
            assert outcome.skipped == {"eql": "no sample event in ECS field names"}
            assert outcome.judged == {"native": events}
            continue
        assert outcome.skipped == {}, outcome.title
        assert outcome.judged == {"native": events, "eql": events}, outcome.title
    (flagship,) = [o for o in report.rules if o.rule_id == FLAGSHIP_ID]
    assert (flagship.positives, flagship.negatives) == (9, 8)
    (auditd,) = [o for o in report.rules if o.rule_id == AUDITD_ID]
    assert (auditd.positives, auditd.negatives) == (8, 12)
    code, out, _ = run("test")
    assert code == 0
    verdicts = [line[:12] for line in out.splitlines() if not line.startswith(" ")]
    assert verdicts == ["ok          "] * 9
    assert "ok          Tainted Kernel Module Load (05cad2fb" in out
    assert "            skipped eql: no sample event in ECS field names" in out


def test_auditd_records_are_judged_by_native_only(tmp_path: Path) -> None:
    """An audit.log record is in the rule's own names: eql, given the ECS query, must not
    call a positive record unmatched (it did before auditd samples were told apart)."""
    stem = "kernel_module_load_syscall_auditd"
    shutil.copy(bundled_rules_dir() / f"{stem}.yml", tmp_path / f"{stem}.yml")
    positive = tmp_path / f"{stem}.events" / "positive"
    positive.mkdir(parents=True)
    (positive / "audit.log").write_text(
        "type=SYSCALL msg=audit(1764499201.512:4821): arch=c000003e syscall=313 success=yes "
        'exit=0 a0=3 items=0 ppid=1 pid=2 auid=1000 uid=0 comm="insmod" exe="/usr/bin/kmod"\n'
    )
    (outcome,) = check_samples([tmp_path / f"{stem}.yml"]).rules
    assert (outcome.failures, outcome.positives, outcome.judged) == ([], 1, {"native": 1})
    code, out, _ = run("test", str(tmp_path / f"{stem}.yml"))
    assert code == 0, out


@pytest.mark.parametrize("stem", sorted(p.stem for p in bundled_rules_dir().glob("*.yml")))
def test_contradicting_sample_fails_naming_rule_and_event(tmp_path: Path, stem: str) -> None:
    shutil.copy(bundled_rules_dir() / f"{stem}.yml", tmp_path / f"{stem}.yml")
    shutil.copytree(bundled_rules_dir() / f"{stem}.events", tmp_path / f"{stem}.events")
    events = tmp_path / f"{stem}.events"
    # A positive sample filed as negative contradicts the rule: each of its events must fail.
    positive = sorted((events / "positive").iterdir())[0]
    moved = events / "negative" / f"contradiction-{positive.name}"
    positive.rename(moved)
    rule_id = next(o.rule_id for o in check_samples([tmp_path / f"{stem}.yml"]).rules)
    code, out, _ = run("test", str(tmp_path / f"{stem}.yml"))
    assert code == 1
    assert out.startswith("FAIL        ")
    assert f"{moved}:1: rule {rule_id}: negative event matched by native" in out


def test_wrong_sample_fails_with_its_place(tmp_path: Path) -> None:
    rule = copy_flagship(tmp_path)
    wrong = tmp_path / f"{STEM}.events" / "positive" / "wrong.log"
    wrong.write_text(f"Nov 26 04:10:16 web1 sshd[1]: {TAINT}\n")
    code, out, _ = run("test", str(rule))
    assert code == 1
    assert (
        f"{wrong}:1: rule 05cad2fb-200c-407f-b472-02ea8c9e5e4a: positive event not matched by native"
        in out
    )
    assert (
        f"{wrong}:1: rule 05cad2fb-200c-407f-b472-02ea8c9e5e4a: positive event not matched by eql"
        in out
    )


def test_unparsable_sample_is_an_error(tmp_path: Path) -> None:
    rule = copy_flagship(tmp_path)
    (tmp_path / f"{STEM}.events" / "negative" / "broken.log").write_text(
        "Nov 26 04:10:16 web1 cron[1]: fine\nno header on this line\n"
    )
    code, _, err = run("test", str(rule))
    assert code == 2
    assert "broken.log:2: sample line cannot be parsed: no syslog header" in err


def test_rule_without_samples_fails_with_a_clear_line(tmp_path: Path) -> None:
    # Before the fix: exit 0, although nothing was tested.
    shutil.copy(bundled_rules_dir() / f"{STEM}.yml", tmp_path / "other.yml")
    code, out, _ = run("test", str(tmp_path / "other.yml"))
    assert code == 1
    assert out == (
        "FAIL        Tainted Kernel Module Load (05cad2fb-200c-407f-b472-02ea8c9e5e4a): no sample "
        f"events: create {tmp_path / 'other.events' / 'positive'} with events the rule must match\n"
    )


def test_empty_positive_folder_fails(tmp_path: Path) -> None:
    rule = copy_flagship(tmp_path)
    positive = tmp_path / f"{STEM}.events" / "positive"
    shutil.rmtree(positive)
    positive.mkdir()
    code, out, _ = run("test", str(rule))
    assert code == 1
    assert f"no positive sample file in {positive}" in out


def test_empty_negative_folder_fails(tmp_path: Path) -> None:
    rule = copy_flagship(tmp_path)
    negative = tmp_path / f"{STEM}.events" / "negative"
    shutil.rmtree(negative)
    negative.mkdir()
    code, out, _ = run("test", str(rule))
    assert code == 1
    assert f"empty sample folder {negative}" in out


CASED_RULE = """\
title: Cased program
id: 9d1e0b52-7c55-4d0c-8f1e-2b3c4d5e6f70
status: test
description: A case-sensitive match, which Elastic's Python eql engine ignores (documented).
author: taintsigma tests
date: 2026-11-30
logsource:
  product: linux
  service: syslog
detection:
  selection:
    program|cased: kernel
  condition: selection
level: low
"""


def _cased_rule(folder: Path, positive: str, negative: str) -> Path:
    rule = folder / "cased_program.yml"
    rule.write_text(CASED_RULE)
    for kind, text in (("positive", positive), ("negative", negative)):
        (folder / "cased_program.events" / kind).mkdir(parents=True)
        (folder / "cased_program.events" / kind / "syslog.log").write_text(text)
    return rule


def test_documented_eql_difference_is_excused(tmp_path: Path) -> None:
    # The eql engine's '==' ignores case: it matches the negative 'KERNEL' line. Before the
    # fix that failed a correct rule; now it is reported as a documented difference.
    rule = _cased_rule(
        tmp_path,
        "Nov 26 04:10:16 web1 kernel: hello\n",
        "Nov 26 04:10:16 web1 KERNEL: hello\n",
    )
    code, out, _ = run("test", str(rule))
    assert code == 0, out
    assert "eql differs on 1 event(s), a documented engine difference: eql engine: '==' ignores case" in out


def test_sample_contradicting_its_rule_still_fails(tmp_path: Path) -> None:
    rule = _cased_rule(
        tmp_path,
        "Nov 26 04:10:16 web1 KERNEL: hello\n",  # contradicts `program|cased: kernel`
        "Nov 26 04:10:16 web1 sshd: hello\n",
    )
    code, out, _ = run("test", str(rule))
    assert code == 1
    assert "positive event not matched by native" in out
