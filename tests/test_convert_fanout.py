"""``convert -t all`` converts each target in a forked process (``-j``): the same queries,
warnings, errors and exit code as converting them one after another in one process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from regen_golden import GOLDEN, REPO

from taintsigma.cli.main import cli
from taintsigma.convert import fanout
from taintsigma.convert.conversion import convert_rules
from taintsigma.convert.targets import load_target, load_targets
from taintsigma.errors import ErrorPolicy, TaintSigmaError, UnsupportedByTarget
from taintsigma.rules.loader import load_rules

# The bundled rules and the test rules: warnings, and rules some targets refuse.
RULES = [str(REPO / "sigma_rules"), str(REPO / "tests" / "rules")]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), obj={})


def _messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("taintsigma: ")]


@pytest.mark.parametrize("jobs", ["1", "2", "4"])
def test_every_job_count_gives_what_one_process_gives(jobs: str, tmp_path: Path) -> None:
    alone = run("--debug", "convert", "-t", "all", *RULES)  # --debug: all in this process
    forked = run("convert", "-t", "all", "-j", jobs, *RULES)
    assert alone.exit_code == forked.exit_code == 2  # tests/rules holds refused rules
    assert forked.stdout == alone.stdout
    assert _messages(forked.stderr) == _messages(alone.stderr)
    assert any("warning" in line for line in _messages(forked.stderr))
    assert any("cannot convert for target" in line for line in _messages(forked.stderr))
    out = tmp_path / "out"
    written = run("convert", "-t", "all", "-j", jobs, "-o", str(out), *RULES)
    assert written.exit_code == 2
    for target in ("kibana-kql", "splunk"):
        for path in sorted((out / target).iterdir()):
            assert path.read_bytes() == (GOLDEN / target / path.name).read_bytes()


def test_the_loaded_rules_stay_as_loaded() -> None:
    loaded = load_rules(RULES, on_error=ErrorPolicy.COLLECT)
    targets = load_targets(["all"])
    results = list(fanout.convert_each(loaded, targets, jobs=2))
    assert [r.target.id for r in results] == [t.id for t in targets]
    again = convert_rules(loaded, load_target("lucene"), on_error=ErrorPolicy.COLLECT)
    [lucene] = [r for r in results if r.target.id == "lucene"]
    assert [c.query for c in again.conversions] == [q.query for q in lucene.queries]
    assert [str(e) for e in again.errors] == [str(e) for e in lucene.errors]
    assert all(isinstance(e, UnsupportedByTarget) for e in lucene.errors)


def test_a_child_that_dies_is_one_line_naming_the_target(monkeypatch) -> None:
    monkeypatch.setattr(fanout, "_convert", lambda *args, **kwargs: os._exit(3))
    result = run("convert", "-t", "all", *RULES)
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = _messages(result.stderr)
    assert line == (
        "taintsigma: error: the process converting for target 'kibana-kql' ended without a "
        "result (exit code 3)"
    )


def test_an_internal_error_in_a_child_is_reported_as_one(monkeypatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("lost")

    monkeypatch.setattr(fanout, "_convert", fail)
    result = run("convert", "-t", "all", *RULES)
    assert result.exit_code != 0
    [line] = _messages(result.stderr)
    assert "internal error: ZeroDivisionError: lost" in line


def test_an_error_that_does_not_pickle_keeps_its_line() -> None:
    error = TaintSigmaError("cannot convert", path="x.yml", rule_id="r1", hint="see the docs")
    error.held = lambda: None  # a lambda does not pickle
    copy = fanout._portable(error)
    assert isinstance(copy, TaintSigmaError)
    assert copy.cli_message() == error.cli_message()
    kept = fanout._portable(UnsupportedByTarget("no", path="y.yml", rule_id="r2"))
    assert type(kept) is UnsupportedByTarget and str(kept) == "y.yml: rule r2: no"
