"""sentinel-arm: the ARM template the Sentinel portal imports, equal to the content YAML."""

from __future__ import annotations

import json

import pytest
from export_checks import check_sentinel, check_sentinel_arm
from helpers import make_rule
from jsonschema import ValidationError
from regen_golden import FLAGSHIP_RULE

from taintsigma.export.run import export_rule, export_rules
from taintsigma.export.sentinel_arm import iso_duration
from taintsigma.rules.loader import load_rules
from taintsigma.rules.metadata import Duration

RID = "6f1c9d52-3c1e-4f37-9a55-0d1ad1b6c2a1"


def _both() -> tuple[dict, dict]:
    (yaml_doc,) = check_sentinel(export_rules(load_rules([FLAGSHIP_RULE]), "sentinel").text())
    (arm,) = check_sentinel_arm(export_rules(load_rules([FLAGSHIP_RULE]), "sentinel-arm").text())
    return yaml_doc, arm


def test_arm_carries_the_yaml_query_schedule_and_entities() -> None:
    yaml_doc, arm = _both()
    props = arm["properties"]
    assert props["query"] == yaml_doc["query"]
    assert (props["queryFrequency"], props["queryPeriod"]) == ("PT5M", "PT9M")
    assert (yaml_doc["queryFrequency"], yaml_doc["queryPeriod"]) == ("5m", "9m")
    assert props["entityMappings"] == yaml_doc["entityMappings"]
    assert props["tactics"] == yaml_doc["tactics"]
    assert props["techniques"] + props["subTechniques"] == ["T1014", "T1547", "T1547.006"]
    assert props["displayName"] == yaml_doc["name"] and props["severity"] == yaml_doc["severity"]
    assert arm["name"].endswith(f"/{yaml_doc['id']}')]") and props["enabled"] is False


def test_runs_tile_ingestion_time_so_windows_do_not_overlap() -> None:
    yaml_doc, arm = _both()
    # the 9m look-back catches late rows; only rows ingested since the last run (5m) alert
    assert yaml_doc["query"].endswith("\n| where ingestion_time() > ago(5m)")
    assert arm["properties"]["eventGroupingSettings"] == {"aggregationKind": "AlertPerResult"}


def test_schema_refuses_what_arm_refuses() -> None:
    check_sentinel_arm(export_rules(load_rules([FLAGSHIP_RULE]), "sentinel-arm").text())  # valid as exported
    template = json.loads(export_rules(load_rules([FLAGSHIP_RULE]), "sentinel-arm").text())
    template["resources"][0]["properties"]["queryFrequency"] = "5m"  # the YAML spelling
    with pytest.raises(ValidationError):
        check_sentinel_arm(json.dumps(template))
    template["resources"][0]["properties"]["queryFrequency"] = "PT5M"
    template["resources"][0]["properties"]["triggerOperator"] = "gt"
    with pytest.raises(ValidationError):
        check_sentinel_arm(json.dumps(template))


@pytest.mark.parametrize(
    ("span", "iso"), [("5m", "PT5M"), ("9m", "PT9M"), ("1h", "PT1H"), ("90m", "PT1H30M"),
                      ("1d", "P1D"), ("14d", "P14D")],
)  # fmt: skip
def test_iso_durations(span: str, iso: str) -> None:
    assert iso_duration(Duration.parse(span)) == iso


def test_bare_rule_gets_defaults() -> None:
    rule = make_rule({"selection": {"program": "sshd"}}, rule_id=RID, description="d")
    (arm,) = check_sentinel_arm(export_rule(rule, "sentinel-arm"))
    assert arm["properties"]["severity"] == "Medium"
    assert arm["properties"]["templateVersion"] == "1.0.0"
