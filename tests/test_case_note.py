"""The case note: Sigma ignores case, Elasticsearch keyword and wildcard fields do not; the
kibana-kql, lucene and esql targets say so once per rule, naming the fields (taintsigma.convert.
case, docs/semantics.md "Case sensitivity of the Linux mappings"), the same way in the Python
API, ``taintsigma convert`` and ``taintsigma export``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import make_rule
from sigma.collection import SigmaCollection

from taintsigma import ErrorPolicy, convert_rules, export_rules
from taintsigma.cli.main import cli

NOTE = (
    "compared case-sensitively (Elasticsearch keyword or wildcard field), while Sigma ignores "
    "case: an event writing the value in another case is missed"
)
RID = "5a0e7b1c-1111-4a2b-8c3d-000000000001"
CASE_SENSITIVE = ("kibana-kql", "lucene", "esql")
PROCESS = {"product": "linux", "category": "process_creation"}
AUDITD = {"product": "linux", "service": "auditd"}


def _warnings(rule, target: str) -> tuple[str, ...] | None:
    """The case notes of converting ``rule`` (None: the target refuses the rule)."""
    report = convert_rules(SigmaCollection([rule]), target, on_error=ErrorPolicy.COLLECT)
    if not report.conversions:
        return None
    (conversion,) = report.conversions
    return tuple(w for w in conversion.warnings if "case-sensitively" in w)


@pytest.mark.parametrize("target", CASE_SENSITIVE)
def test_once_per_rule_naming_every_field(target: str) -> None:
    rule = make_rule(
        {"selection": {"Image|endswith": ["/Curl", "/wget"], "CommandLine|contains": "-O"},
         "other": {"CurrentDirectory": "/tmp", "User": "root"}},
        "selection or other", logsource=PROCESS, rule_id=RID,
    )  # fmt: skip
    assert _warnings(rule, target) == (
        f"rule {RID} ({target}): fields 'process.command_line', 'process.executable', "
        f"'process.working_directory', 'user.name': {NOTE}",
    )


def test_eql_keeps_sigmas_meaning_and_says_nothing() -> None:
    rule = make_rule({"selection": {"Image|endswith": "/curl"}}, logsource=PROCESS)
    assert _warnings(rule, "eql") == ()
    (conversion,) = convert_rules(SigmaCollection([rule]), "eql").conversions
    assert 'process.executable:"*/curl"' in conversion.query  # `:` ignores case


@pytest.mark.parametrize(
    ("detection", "logsource"),
    [
        ({"selection": {"message|contains": "tainting kernel"}}, None),  # text: analysed
        ({"selection": ["tainting kernel"]}, None),  # a keyword search: the text message
        ({"selection": {"pid": 42}}, None),  # a number
        ({"selection": {"program|re": "^(sshd|cron)$"}}, None),  # re: Sigma is case-sensitive
        ({"selection": {"program|cased": "CRON"}}, None),  # |cased: the rule asks for case
        ({"selection": {"Image|endswith": "/0-1_2"}}, PROCESS),  # no letter
        ({"selection": {"DestinationIp|cidr": "10.0.0.0/8"}},
         {"product": "linux", "category": "network_connection"}),  # an address
        ({"selection": {"type": "syscall"}}, AUDITD),  # upper-cased by the pipeline
    ],
    ids=["text", "keyword-search", "number", "regex", "cased", "digits", "cidr", "auditd-type"],
)  # fmt: skip
def test_not_said_where_case_cannot_change_the_result(detection, logsource) -> None:
    rule = make_rule(detection, logsource=logsource)
    found = {target: _warnings(rule, target) for target in CASE_SENSITIVE}
    converted = {target: notes for target, notes in found.items() if notes is not None}
    assert converted  # (KQL has no regex, query_string no case-sensitive form: refused there)
    assert converted == dict.fromkeys(converted, ())


def test_one_letter_is_enough() -> None:
    rule = make_rule({"selection": {"Image|endswith": "/7z-1.0/"}}, logsource=PROCESS)
    assert all(_warnings(rule, target) for target in CASE_SENSITIVE)


def test_the_conditions_a_pipeline_adds_are_not_named() -> None:
    # event.category:process, event.action:exec, host.os.type:linux are ECS's own lower-case
    # values, not the rule's: only the rule's own fields are named.
    rule = make_rule({"selection": {"Image|endswith": "/curl"}}, logsource=PROCESS, rule_id=RID)
    (warning,) = _warnings(rule, "kibana-kql")
    assert "field 'process.executable':" in warning and "event." not in warning


def test_cli_convert_and_export_say_the_same_line(tmp_path: Path) -> None:
    path = tmp_path / "curl_rule.yml"
    path.write_text(
        f"title: Curl\nid: {RID}\nstatus: test\nlevel: low\ndescription: d\n"
        "logsource: {product: linux, category: process_creation}\n"
        "detection:\n  selection:\n    Image|endswith: /curl\n  condition: selection\n"
    )
    line = f"taintsigma: warning: rule {RID} (kibana-kql): field 'process.executable': {NOTE}"
    runner = CliRunner()
    converted = runner.invoke(cli, ["convert", str(path), "-t", "kibana-kql"], obj={})
    assert converted.exit_code == 0 and converted.stderr.splitlines() == [line]
    exported = runner.invoke(cli, ["export", str(path), "-f", "kibana-ndjson"], obj={})
    assert exported.exit_code == 0
    assert line in exported.stderr.splitlines()
    assert json.loads(exported.stdout)["query"].endswith("process.executable:*/curl")
    (package,) = export_rules(SigmaCollection.load_ruleset([str(path)]), "kibana-ndjson").packages
    assert line.removeprefix("taintsigma: warning: ") in package.warnings
    # eql, the case-insensitive Elastic target: nothing on stderr
    quiet = runner.invoke(cli, ["convert", str(path), "-t", "eql"], obj={})
    assert quiet.exit_code == 0 and quiet.stderr == ""
