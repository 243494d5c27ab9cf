"""Kibana NDJSON: the flagship equals Elastic's published rule; KQL falls back to EQL/ES|QL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from export_checks import check_kibana_ndjson
from helpers import make_rule
from test_attack import FLAGSHIP_THREAT

from taintsigma.cli.main import cli
from taintsigma.convert.conversion import ConversionReport
from taintsigma.errors import UnsupportedByTarget
from taintsigma.export.run import export_rule, export_rules
from taintsigma.rules.loader import load_rules

SEED = Path(__file__).parent / "fixtures" / "elastic_seed" / "tainted_kernel_module_load.txt"
RID = "6f1c9d52-3c1e-4f37-9a55-0d1ad1b6c2a1"
FLAGSHIP = Path(__file__).parent.parent / "sigma_rules" / "tainted_kernel_module_load.yml"


def _seed_section(start: str, end: str) -> str:
    text = SEED.read_text(encoding="utf-8")
    body = text[text.index(start) : text.index(end)]
    return " ".join(body.replace("[TBC: QUOTE]", "").split())


def _plain(markdown: str) -> str:
    """Markdown as Elastic's rule page renders it: no heading marks, links as their text."""
    text = re.sub(r"^#+ ", "", markdown, flags=re.MULTILINE)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return " ".join(text.split())


@pytest.fixture(scope="module")
def flagship() -> dict:
    result = CliRunner().invoke(cli, ["export", "-f", "kibana-ndjson", str(FLAGSHIP)])
    assert result.exit_code == 0, result.output
    (rule,) = check_kibana_ndjson(result.stdout)
    return rule


def test_flagship_equals_the_seed(flagship: dict) -> None:
    assert " ".join(flagship["query"].split()) == (
        'host.os.type:linux and event.dataset:"system.syslog" and process.name:kernel and '
        'message:"module verification failed: signature and/or required key missing - tainting kernel"'
    )
    assert flagship["type"] == "query" and flagship["language"] == "kuery"
    assert flagship["index"] == ["logs-system.syslog-*"]
    assert (flagship["from"], flagship["interval"], flagship["max_signals"]) == (
        "now-9m",
        "5m",
        100,
    )
    assert (flagship["severity"], flagship["risk_score"]) == ("low", 21)
    assert flagship["rule_id"] == "05cad2fb-200c-407f-b472-02ea8c9e5e4a"
    assert flagship["version"] == 5
    assert flagship["tags"] == [
        "Domain: Endpoint",
        "OS: Linux",
        "Use Case: Threat Detection",
        "Tactic: Persistence",
        "Tactic: Defense Evasion",
        "Resources: Investigation Guide",
    ]
    assert flagship["threat"] == FLAGSHIP_THREAT
    assert flagship["author"] == ["Elastic"] and flagship["license"] == "Elastic License v2"
    assert flagship["references"] == [] and flagship["enabled"] is False
    assert _plain(flagship["note"]) == _seed_section("Triage and analysis", "Setup\n")
    assert _plain(flagship["setup"]) == _seed_section("Setup\n", "host.os.type:linux")


def test_flagship_false_positives_equal_the_seeds(flagship: dict) -> None:
    # The seed's "False positive analysis" lists five cases; the Sigma rule carries them verbatim
    # as `falsepositives`, and Kibana gets exactly those.
    seed_cases = re.findall(r"^- (.+)$", _seed_section_raw(), flags=re.MULTILINE)
    assert len(seed_cases) == 5
    assert flagship["false_positives"] == seed_cases


def _seed_section_raw() -> str:
    text = SEED.read_text(encoding="utf-8")
    return text[text.index("False positive analysis") : text.index("Response and remediation")]


def test_golden_is_what_the_cli_prints(flagship: dict) -> None:
    golden = Path(__file__).parent / "golden" / "export" / "kibana-ndjson"
    line = (golden / "tainted_kernel_module_load.ndjson").read_text(encoding="utf-8")
    assert json.loads(line) == flagship


def _kql_cannot(monkeypatch: pytest.MonkeyPatch, *also: str) -> None:
    """Make the named targets refuse every rule, as a target refuses what it cannot express."""
    from taintsigma.export import common

    real = common.convert_rules
    refused = {"kibana-kql", *also}

    def convert(collection, target, **kwargs):
        if target.id not in refused:
            return real(collection, target, **kwargs)
        return ConversionReport(
            errors=[
                UnsupportedByTarget(
                    f"cannot convert for target '{target.id}': the feature is not supported",
                    rule_id=str(rule.id),
                )
                for rule in collection.rules
            ]
        )

    monkeypatch.setattr(common, "convert_rules", convert)


def test_rule_kql_cannot_express_becomes_an_eql_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    _kql_cannot(monkeypatch)
    report = export_rules(load_rules([FLAGSHIP]), "kibana-ndjson")
    (package,) = report.packages
    (rule,) = check_kibana_ndjson(package.text)
    assert (rule["type"], rule["language"]) == ("eql", "eql")
    assert rule["query"].startswith("any where ")
    assert rule["index"] == ["logs-system.syslog-*"]
    assert package.warnings[0] == (
        "rule 05cad2fb-200c-407f-b472-02ea8c9e5e4a: exported as a Kibana 'eql' rule because "
        "kibana-kql cannot express it (the feature is not supported)"
    )


def test_then_an_esql_rule_without_index(monkeypatch: pytest.MonkeyPatch) -> None:
    _kql_cannot(monkeypatch, "eql")
    (package,) = export_rules(load_rules([FLAGSHIP]), "kibana-ndjson").packages
    (rule,) = check_kibana_ndjson(package.text)
    assert (rule["type"], rule["language"]) == ("esql", "esql")
    assert "index" not in rule and rule["query"].startswith("from ")


def test_no_language_at_all_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _kql_cannot(monkeypatch, "eql", "esql")
    report = export_rules(
        load_rules([FLAGSHIP]), "kibana-ndjson", on_error=__import__("taintsigma").ErrorPolicy.COLLECT
    )
    assert report.packages == []
    assert str(report.errors[0]).endswith(
        "rule 05cad2fb-200c-407f-b472-02ea8c9e5e4a: cannot be exported as a Kibana rule: "
        "kibana-kql cannot express it (the feature is not supported); eql cannot express it "
        "(the feature is not supported); esql cannot express it (the feature is not supported)"
    )


def test_bare_rule_uses_documented_defaults() -> None:
    rule = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, title="Bare", description="d",
        level="high", tags=["attack.t1014"],
    )  # fmt: skip
    (kibana,) = check_kibana_ndjson(export_rule(rule, "kibana-ndjson"))
    assert (kibana["severity"], kibana["risk_score"], kibana["version"]) == ("high", 73, 1)
    assert (kibana["from"], kibana["interval"], kibana["max_signals"]) == ("now-9m", "5m", 100)
    assert kibana["index"] == ["logs-system.syslog-*"]
    assert kibana["author"] == [] and "note" not in kibana and "license" not in kibana
    assert kibana["tags"] == [
        "Domain: Endpoint", "OS: Linux", "Use Case: Threat Detection", "Tactic: Defense Evasion"
    ]  # fmt: skip
    assert [t["tactic"]["id"] for t in kibana["threat"]] == ["TA0005"]


def test_timestamp_override_where_given() -> None:
    rule = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, description="d",
        elastic={"timestamp_override": "event.ingested"},
    )  # fmt: skip
    (kibana,) = check_kibana_ndjson(export_rule(rule, "kibana-ndjson"))
    assert kibana["timestamp_override"] == "event.ingested"


def test_logsource_without_default_index_needs_elastic_index() -> None:
    # No pipeline of backends/esql/ gives linux/foo an index.
    rule = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, description="d",
        logsource={"product": "linux", "service": "foo"},
    )  # fmt: skip
    with pytest.raises(Exception) as caught:
        export_rule(rule, "kibana-ndjson")
    assert "field 'elastic.index' is required" in str(caught.value)


def test_a_logsource_takes_its_index_and_integration_from_the_esql_pipeline() -> None:
    rule = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, description="d",
        logsource={"product": "linux", "service": "auth"},
    )  # fmt: skip
    (kibana,) = check_kibana_ndjson(export_rule(rule, "kibana-ndjson"))
    assert kibana["index"] == ["filebeat-*", "logs-system.auth-*"]
    assert kibana["related_integrations"] == [{"package": "system", "version": "^1.6.4"}]
    (agent,) = check_kibana_ndjson(export_rule(rule, "kibana-ndjson", options=["elastic-agent"]))
    assert agent["index"] == ["logs-system.auth-*"]


def test_elastic_agent_option_reaches_the_query() -> None:
    (package,) = export_rules(load_rules([FLAGSHIP]), "kibana-ndjson", options=["elastic-agent"]).packages
    (rule,) = check_kibana_ndjson(package.text)
    assert 'data_stream.dataset:"system.syslog"' in rule["query"]
    assert "event.dataset" not in rule["query"]


def test_an_option_no_target_of_the_format_has_exits_2() -> None:
    result = CliRunner().invoke(cli, ["export", "-f", "sentinel", "-O", "elastic-agent"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "taintsigma: error: export format 'sentinel' has no option 'elastic-agent' "
        "(its options: xdr)\n"
    )
