"""``taintsigma check`` through the command line: exit codes and what it prints."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from regen_golden import REPO

from taintsigma.cli.main import cli

RULES = REPO / "tests" / "rules"
NO_ID_RULE = """\
title: Rule without an identifier
status: test
logsource:
  product: linux
  service: syslog
detection:
  selection:
    program: kernel
  condition: selection
level: low
"""


def run(*args: str):
    return CliRunner().invoke(cli, list(args), obj={})


def test_bundled_rules_pass() -> None:
    result = run("check")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "checked 9 rule(s): 9 passed, 0 failed\n"


def test_test_rules_pass() -> None:
    result = run("check", str(RULES))
    assert result.exit_code == 0, result.output
    count = len(list(RULES.glob("*.yml")))  # every test rule, however many there are
    assert result.stderr == f"checked {count} rule(s): {count} passed, 0 failed\n"


def test_validator_issue_exits_1_and_names_rule_file_and_check(tmp_path: Path) -> None:
    path = tmp_path / "rule_without_identifier.yml"
    path.write_text(NO_ID_RULE, encoding="utf-8")
    shutil.copy(RULES / "value_lists.yml", tmp_path / "value_lists.yml")
    result = run("check", str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout == (
        f"{path}: rule Rule without an identifier: medium: Rule has no identifier (UUID) "
        "[IdentifierExistenceIssue]\n"
    )
    assert result.stderr == "checked 2 rule(s): 1 passed, 1 failed\n"


def test_load_error_wins_over_findings_exit_2(tmp_path: Path) -> None:
    (tmp_path / "rule_without_identifier.yml").write_text(NO_ID_RULE, encoding="utf-8")
    (tmp_path / "broken_rule_file.yml").write_text("title: [x\n", encoding="utf-8")
    result = run("check", str(tmp_path))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"taintsigma: error: {tmp_path}/broken_rule_file.yml:")
    assert lines[-1] == "checked 1 rule(s): 0 passed, 1 failed, 1 could not be loaded"
    assert "IdentifierExistenceIssue" in result.stdout


def test_missing_path_exit_2(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "absent"))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"taintsigma: error: {tmp_path}/absent: no such file or folder"
    )
