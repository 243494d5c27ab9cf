"""Elastic exports as Kibana builds its own rules: required fields, integrations, file names."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from click.testing import CliRunner
from export_checks import check_elastic_toml, check_kibana_ndjson
from helpers import make_rule
from regen_golden import FLAGSHIP_RULE
from sigma.collection import SigmaCollection

from taintsigma.cli.main import cli
from taintsigma.export.run import export_rule, export_rules
from taintsigma.rules.loader import load_rules

RID = "6f1c9d52-3c1e-4f37-9a55-0d1ad1b6c2a1"
FLAGSHIP_FIELDS = [
    {"name": "event.dataset", "type": "keyword", "ecs": True},
    {"name": "host.os.type", "type": "keyword", "ecs": True},
    {"name": "message", "type": "match_only_text", "ecs": True},
    {"name": "process.name", "type": "keyword", "ecs": True},
]


def _flagship(format_id: str, options: tuple[str, ...] = ()) -> str:
    (package,) = export_rules(load_rules([FLAGSHIP_RULE]), format_id, options=options).packages
    return package.text


def test_flagship_ndjson_carries_kibanas_build_time_fields() -> None:
    (rule,) = check_kibana_ndjson(_flagship("kibana-ndjson"))
    assert rule["timestamp_override"] == "event.ingested"
    assert rule["related_integrations"] == [{"package": "system", "version": "^1.6.4"}]
    assert rule["required_fields"] == FLAGSHIP_FIELDS


def test_flagship_toml_carries_the_same_fields() -> None:
    data = check_elastic_toml(_flagship("elastic-toml"))
    assert data["rule"]["timestamp_override"] == "event.ingested"
    assert data["rule"]["related_integrations"] == [{"package": "system", "version": "^1.6.4"}]
    assert data["rule"]["required_fields"] == FLAGSHIP_FIELDS


def test_required_fields_follow_the_pipeline_option() -> None:
    (rule,) = check_kibana_ndjson(_flagship("kibana-ndjson", ("elastic-agent",)))
    names = [f["name"] for f in rule["required_fields"]]
    assert "data_stream.dataset" in names and "event.dataset" not in names
    assert rule["related_integrations"] == [{"package": "system", "version": "^1.6.4"}]


def test_keyword_searches_require_the_keyword_field() -> None:
    rule = make_rule(
        {"keywords": ["segfault at"]}, condition="keywords", rule_id=RID, description="d"
    )
    (kibana,) = check_kibana_ndjson(export_rule(rule, "kibana-ndjson"))
    assert {"name": "message", "type": "match_only_text", "ecs": True} in kibana["required_fields"]


def test_timestamp_override_can_be_left_out() -> None:
    rule = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, description="d",
        elastic={"timestamp_override": None},
    )  # fmt: skip
    (kibana,) = check_kibana_ndjson(export_rule(rule, "kibana-ndjson"))
    assert "timestamp_override" not in kibana


def test_integration_from_the_index_when_the_query_names_no_dataset() -> None:
    rule = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, description="d",
        elastic={"index": ["logs-auditd_manager.auditd-*"]},
    )  # fmt: skip
    (kibana,) = check_kibana_ndjson(export_rule(rule, "kibana-ndjson"))
    # the syslog pipeline adds event.dataset:system.syslog: the query's dataset wins
    assert kibana["related_integrations"] == [{"package": "system", "version": "^1.6.4"}]


def test_toml_file_name_starts_with_the_primary_tactic(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["export", str(FLAGSHIP_RULE), "-f", "elastic-toml", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["persistence_tainted_kernel_module_load.toml"]


def test_toml_file_name_without_tactic_is_the_stem() -> None:
    rule = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, description="d", author="me",
        date="2026-01-01", tags=["attack.command-and-control"],
    )  # fmt: skip
    (package,) = export_rules(SigmaCollection([rule]), "elastic-toml").packages
    assert package.filename.startswith("command_and_control_")
    bare = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, description="d", author="me",
        date="2026-01-01",
    )  # fmt: skip
    (package,) = export_rules(SigmaCollection([bare]), "elastic-toml").packages
    assert not package.filename.startswith(("command", "persistence"))


def test_long_list_items_are_wrapped_as_the_formatter_does() -> None:
    long = "word " * 40 + 'back\\slash and a "quote" too'
    rule = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, description="d", author="me",
        date="2026-01-01", falsepositives=[long, "short"],
    )  # fmt: skip
    text = export_rule(rule, "elastic-toml")
    block = text.split("false_positives = [\n", 1)[1].split("\n]", 1)[0]
    lines = block.split("\n")
    assert lines[0] == '    """' and all(len(line) <= 120 for line in lines)
    assert all(line.startswith("    ") for line in lines)
    data = tomllib.loads(text)
    assert [" ".join(f.split()) for f in data["rule"]["false_positives"]] == [
        " ".join(long.split()), "short"
    ]  # fmt: skip


def test_ndjson_is_one_line_per_rule() -> None:
    assert len(_flagship("kibana-ndjson").splitlines()) == 1
    json.loads(_flagship("kibana-ndjson"))


# --- --new-ids: beside Elastic's prebuilt rule --------------------------------------------

FLAGSHIP_ID = "05cad2fb-200c-407f-b472-02ea8c9e5e4a"
FLAGSHIP_NEW_ID = "8cc354e5-9e0d-5d20-8d88-51841b3e8537"  # uuid5(NEW_ID_NAMESPACE, FLAGSHIP_ID)


def test_new_ids_are_uuid5_of_the_documented_namespace() -> None:
    import uuid

    from taintsigma.export.run import NEW_ID_NAMESPACE, new_rule_id

    assert str(NEW_ID_NAMESPACE) == "cc18fb44-f515-45f8-a7f3-e7b5fd51f0d6"  # docs/export.md
    assert new_rule_id(FLAGSHIP_ID) == FLAGSHIP_NEW_ID
    assert new_rule_id(FLAGSHIP_ID.upper()) == FLAGSHIP_NEW_ID
    assert uuid.UUID(FLAGSHIP_NEW_ID).version == 5


def test_new_ids_reach_every_format_through_the_cli() -> None:
    runner = CliRunner()
    for format_id in ("kibana-ndjson", "elastic-toml", "splunk-savedsearches", "sentinel"):
        result = runner.invoke(cli, ["export", str(FLAGSHIP_RULE), "-f", format_id, "--new-ids"])
        assert result.exit_code == 0, result.output
        assert FLAGSHIP_NEW_ID in result.stdout
        assert FLAGSHIP_ID not in result.stdout
    plain = runner.invoke(cli, ["export", str(FLAGSHIP_RULE), "-f", "kibana-ndjson"])
    assert json.loads(plain.stdout)["rule_id"] == FLAGSHIP_ID
