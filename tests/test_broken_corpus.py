"""The corpus of broken rules and damaged logs (tests/broken/README.md) through the CLI, end to
end: one line per problem naming its file, everything else processed, exit code 2."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from regen_golden import REPO

from taintsigma.cli.main import cli

BROKEN = REPO / "tests" / "broken"
UNLOADABLE = [
    "dangling_correlation.yml", "deep_nesting.yml", "empty.yml", "invalid_yaml.yml",
    "no_detection.yml", "not_a_mapping.yml", "not_utf8.yml", "unknown_modifier.yml",
]  # fmt: skip
UNCOMPILABLE = ["missing_selection.yml", "nested_nots.yml", "re2_lookahead.yml"]
GOOD_ALERTS = [
    ("ecs_damaged.ndjson:1", "Good kernel taint rule"),
    ("good_syslog.log:2", "Good kernel taint rule"),
    ("good_syslog.log:3", "Good sshd failure rule"),
    ("journald_damaged.json:1", "Good kernel taint rule"),
    ("journald_damaged.json:3", "Good sshd failure rule"),
    ("nul_and_latin1.log:1", "Good kernel taint rule"),
    ("truncated.log.gz:1", "Good kernel taint rule"),
]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), obj={})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The corpus, plus what git cannot hold: a dangling link, a folder-link loop, a FIFO."""
    root = tmp_path / "broken"
    shutil.copytree(BROKEN, root)
    (root / "logs" / "dangling.log").symlink_to(root / "logs" / "nowhere.log")
    (root / "rules" / "loop").symlink_to("..")
    os.mkfifo(root / "logs" / "fifo")
    return root


def lines_naming(err: str, kind: str) -> dict[str, list[str]]:
    """The stderr lines of one kind (error, warning, note), by the corpus file they name."""
    found: dict[str, list[str]] = {}
    for line in err.splitlines():
        match = re.match(rf"taintsigma: {kind}: \S*/broken/(?:rules|logs)/([^:]+):", line)
        assert match or not line.startswith(f"taintsigma: {kind}:"), f"names no file: {line}"
        if match:
            found.setdefault(match.group(1), []).append(line)
    return found


def test_scan_names_each_problem_once_and_scans_everything_else(corpus: Path) -> None:
    code, out, err = run(
        "scan", str(corpus / "logs"), "-r", str(corpus / "rules"), "--timezone", "UTC",
        "--no-prefilter",
    )  # fmt: skip
    assert code == 2
    assert "internal error" not in err and "Traceback" not in err
    errors = lines_naming(err, "error")
    assert sorted(errors) == sorted(
        [*UNLOADABLE, *UNCOMPILABLE, "corrupt.log.gz", "truncated.log.gz", "dangling.log"]
    )
    assert all(len(lines) == 1 for lines in errors.values()), errors
    assert "--regex-engine re" in errors["re2_lookahead.yml"][0]
    assert "after line 2493; the lines before it were scanned" in errors["truncated.log.gz"][0]
    notes = lines_naming(err, "note")
    assert sorted(notes) == ["fifo", "loop", "wtmp"]
    alerts = sorted(
        (line.split("\t")[0].rsplit("/", 1)[1], line.split("\t")[2]) for line in out.splitlines()
    )
    assert alerts == GOOD_ALERTS
    assert (
        "scanned 6 inputs, 2,504 lines read, 0 skipped by the prefilter, 2,500 events parsed, "
        "4 unparsable, 3 unreadable with 2 rules: 7 alerts"
    ) in err


@pytest.mark.parametrize("command", ["convert", "check", "export"])
def test_rule_commands_name_each_broken_rule_once(command: str, corpus: Path) -> None:
    args = {
        "convert": ["convert", "-t", "lucene"],
        "check": ["check"],
        "export": ["export", "-f", "splunk-savedsearches"],
    }[command]
    code, out, err = run(*args, str(corpus / "rules"))
    assert code == 2
    assert "internal error" not in err and "Traceback" not in err
    errors = lines_naming(err, "error")
    assert set(UNLOADABLE) <= set(errors)
    assert all(len(lines) == 1 for lines in errors.values()), errors
    assert set(errors) <= {*UNLOADABLE, *UNCOMPILABLE}
    skipped = "skipped: symbolic link to a folder (not followed)"
    assert lines_naming(err, "note") == {
        "loop": [f"taintsigma: note: {corpus}/rules/loop: {skipped}"]
    }
    if command == "convert":
        assert "tainting kernel" in out and "Failed password" in out
    if command == "check":
        assert "could not be loaded" in err
