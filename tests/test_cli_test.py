"""``taintsigma test``: each rule's sample events, judged by the native evaluator and eql."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from taintsigma.cli.main import cli
from taintsigma.resources import bundled_rules_dir
from taintsigma.ruletest import check_samples

STEM = "tainted_kernel_module_load"
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
    (outcome,) = report.rules
    assert (outcome.failures, outcome.problems, outcome.skipped) == ([], [], {})
    assert (outcome.positives, outcome.negatives) == (9, 8)
    assert outcome.judged == {"native": 17, "eql": 17}
    code, out, _ = run("test")
    assert code == 0
    assert out.startswith("ok          Tainted Kernel Module Load")


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


def test_rule_without_samples_is_reported(tmp_path: Path) -> None:
    shutil.copy(bundled_rules_dir() / f"{STEM}.yml", tmp_path / "other.yml")
    code, out, _ = run("test", str(tmp_path / "other.yml"))
    assert code == 0
    assert out == "no samples  Tainted Kernel Module Load (05cad2fb-200c-407f-b472-02ea8c9e5e4a)\n"
