"""ECS documents of Elastic Defend, Auditbeat and Auditd Manager read back into Sigma's names.

The fixtures are authored from Elastic's documentation (docs/scan.md, "ECS telemetry"):
``tests/fixtures/telemetry/ecs_telemetry.ndjson`` (one document per line: Defend process, file
and network events, an Auditbeat ``auditd`` module execution, Auditd Manager executions with
flat dotted keys, and near misses: a ``fork``, a Windows host, a file change, an ingress or
local connection, a disconnect) and ``tests/fixtures/telemetry/same_execution/defend.ndjson``
(the executions of ``audit.log`` and ``sysmon.log`` beside it, as Defend writes them). The
reverse mapping is the Elastic targets' own (backends/_common/ecs_linux.yml), tested both ways.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sigma.rule import SigmaDetection

from taintsigma import convert_rules, load_rules
from taintsigma.cli.main import cli
from taintsigma.convert.mappings import (
    field_mappings,
    reverse_field_mappings,
    reverse_value_mappings,
)
from taintsigma.errors import ErrorPolicy
from taintsigma.logs.ecs_ndjson import EcsNdjsonAdapter, classify
from taintsigma.logs.event import LINUX_SYSLOG, Location, LogSourceKey
from taintsigma.resources import bundled_backends_dir
from taintsigma.scan.routing import sigma_fields
from taintsigma.scan.run import scan_paths

ROOT = Path(__file__).parent
SIGMAHQ = ROOT / "corpus" / "sigmahq" / "rules" / "linux"
ECS = ROOT / "fixtures" / "telemetry" / "ecs_telemetry.ndjson"
SAME = ROOT / "fixtures" / "telemetry" / "same_execution"
CATEGORIES = ("process_creation", "file_event", "network_connection")

# (rule under SigmaHQ's rules/linux, line of ecs_telemetry.ndjson, alerts?)
CASES = [
    ("process_creation/proc_creation_lnx_base64_decode.yml", 1, True),  # Defend, a search hit
    ("process_creation/proc_creation_lnx_chattr_immutable_removal.yml", 2, False),  # fork
    ("process_creation/proc_creation_lnx_chattr_immutable_removal.yml", 3, False),  # Windows
    ("process_creation/proc_creation_lnx_chattr_immutable_removal.yml", 4, True),  # Auditbeat
    ("process_creation/proc_creation_lnx_auditctl_clear_rules.yml", 5, True),  # Auditd Manager
    ("process_creation/proc_creation_lnx_auditctl_clear_rules.yml", 6, False),  # auditctl -l
    ("file_event/file_event_lnx_doas_conf_creation.yml", 7, True),  # created
    ("file_event/file_event_lnx_doas_conf_creation.yml", 8, False),  # changed, not created
    ("file_event/file_event_lnx_doas_conf_creation.yml", 9, False),  # doas.conf.bak
    ("network_connection/net_connection_lnx_susp_malware_callback_port.yml", 10, True),
    ("network_connection/net_connection_lnx_susp_malware_callback_port.yml", 11, False),  # in
    ("network_connection/net_connection_lnx_susp_malware_callback_port.yml", 12, False),  # LAN
    ("network_connection/net_connection_lnx_susp_malware_callback_port.yml", 14, False),  # end
    ("network_connection/net_connection_lnx_ngrok_tunnel.yml", 13, True),
    ("network_connection/net_connection_lnx_ngrok_tunnel.yml", 10, False),
]


@pytest.mark.parametrize(("rule", "line", "alerts"), CASES,
                         ids=[f"{Path(r).stem}-{n}" for r, n, _ in CASES])  # fmt: skip
@pytest.mark.parametrize("prefilter", [True, False], ids=["prefilter", "every-line"])
def test_sigmahq_rule_on_ecs_documents(rule: str, line: int, alerts: bool, prefilter: bool) -> None:
    scan = scan_paths([ECS], [SIGMAHQ / rule], prefilter=prefilter)
    lines = {a.origin.line for a in scan if a.origin is not None}
    assert (line in lines) is alerts
    assert scan.summary.unparsed == 0


def test_every_sigmahq_linux_rule_with_the_prefilter_as_without() -> None:
    found = []
    for prefilter in (True, False):
        scan = scan_paths([ECS], [SIGMAHQ], prefilter=prefilter)
        found.append(sorted((a.origin.line, a.rule.id) for a in scan))
    assert found[0] == found[1]
    assert {line for line, _ in found[0]} == {1, 4, 5, 7, 10, 13}


def test_the_same_execution_from_auditd_sysmon_and_defend_raises_the_same_alerts() -> None:
    rules = load_rules([SIGMAHQ / "process_creation"])
    seen = []
    for name in ("audit.log", "sysmon.log", "defend.ndjson"):
        alerts = list(scan_paths([SAME / name], rules, timezone="UTC"))
        seen.append(sorted((str(a.event.fields["ProcessId"]), a.rule.id) for a in alerts))
    assert seen[0] == seen[1] == seen[2]
    assert {pid for pid, _ in seen[2]} == {"4301", "4302", "4303", "4304", "4305"}


def _fields(detections: Any, applied: str | None = None) -> set[str]:
    found: set[str] = set()

    def walk(detection: Any) -> None:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                walk(item)
            elif item.field is not None and (
                applied is None or applied in item.applied_processing_items
            ):
                found.add(item.field)

    for detection in detections.values():
        walk(detection)
    return found


@pytest.mark.parametrize("category", CATEGORIES)
def test_converted_rules_fields_map_back_to_sigma(category: str) -> None:
    # One source of truth, both ways: SigmaHQ's rules of the category converted to ECS names
    # by the kibana-kql target, and every field of each read back by the reverse mapping.
    item = {"process_creation": "process", "file_event": "file",
            "network_connection": "network"}[category]  # fmt: skip
    back = reverse_field_mappings("kibana-kql")[f"linux/{category}"]
    report = convert_rules(
        load_rules([SIGMAHQ / category]), "kibana-kql", on_error=ErrorPolicy.COLLECT
    )
    assert len(report.conversions) >= 5
    for conversion in report.conversions:
        (original,) = list(load_rules([conversion.rule.source.path]))
        wanted = _fields(original.detection.detections)
        mapped = _fields(
            conversion.rule.detection.detections, applied=f"taintsigma_ecs_{item}_fields"
        )
        assert mapped, conversion.rule_id
        assert all(name in conversion.query for name in mapped)
        assert {sigma for name in mapped for sigma in back[name]} >= wanted, conversion.rule_id


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_mapped_field_survives_the_round_trip(category: str) -> None:
    # A document holding each ECS field of the mapping, read back: each Sigma field, its value.
    source = LogSourceKey(product="linux", category=category)
    forward = field_mappings("kibana-kql")[f"linux/{category}"]
    values = reverse_value_mappings("kibana-kql").get(f"linux/{category}", {})
    document: dict[str, object] = {}
    expected: dict[str, object] = {}
    for sigma, targets in forward.items():
        value: object = f"value of {sigma}"
        if targets[0] in values:  # a value mapping: Sigma's value written as the ECS one
            ecs_value, value = next(iter(values[targets[0]].items()))
            document[targets[0]] = ecs_value
        else:
            document[targets[0]] = value
        expected[sigma] = value
    fields = sigma_fields(document, source)
    assert {name: fields[name] for name in expected} == expected


@pytest.mark.parametrize("category", CATEGORIES)
def test_the_adapter_classifies_what_the_converter_queries(category: str) -> None:
    # The conditions the Elastic targets add to a rule of the category (ecs_linux.yml) are
    # those the ECS adapter recognises the category by.
    common = bundled_backends_dir() / "_common"
    pipeline = {"transformations": [
        item
        for name in ("ecs_process_defend.yml", "ecs_linux.yml")
        for item in yaml.safe_load((common / name).read_text())["transformations"]
    ]}
    (conditions,) = [
        item["conditions"]
        for item in pipeline["transformations"]
        if item["type"] == "add_condition"
        and item["rule_conditions"][0].get("category") == category
    ]
    assert classify(dict(conditions)) == LogSourceKey(product="linux", category=category)


def test_syslog_documents_keep_their_log_source() -> None:
    doc = {"event": {"dataset": "system.syslog", "category": ["process"], "type": ["start"]},
           "message": "x"}  # fmt: skip
    # (tests/test_scan.py scans samples/, ECS syslog documents included, as before)
    event = EcsNdjsonAdapter().parse(json.dumps(doc).encode(), Location(path="e", line=1))
    assert event.logsource == LINUX_SYSLOG


def test_auto_recognises_ecs_telemetry_and_the_cli_shows_the_alerts() -> None:
    result = CliRunner().invoke(
        cli, ["scan", str(ECS), "-r", str(SIGMAHQ / "file_event"), "--json"], obj={}
    )
    assert result.exit_code == 1, result.output
    (alert,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert alert["source"]["line"] == 7
    assert alert["event"]["file"]["path"] == "/etc/doas.conf"  # the document as written,
    assert alert["event"]["TargetFilename"] == "/etc/doas.conf"  # with Sigma's names


def test_correlations_count_ecs_documents_by_sigma_names(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "title: Any Linux process started\nid: 0a1b2c3d-0000-4000-8000-000000000001\n"
        "name: any_linux_process\nlogsource: {product: linux, category: process_creation}\n"
        "detection:\n  sel:\n    Image|startswith: /usr/\n  condition: sel\n---\n"
        "title: Many processes by one parent\nid: 0a1b2c3d-0000-4000-8000-000000000002\n"
        "correlation:\n  type: event_count\n  rules: [any_linux_process]\n"
        "  group-by: [ParentImage]\n  timespan: 1m\n  condition: {gte: 5}\n"
    )
    alerts = list(scan_paths([SAME / "defend.ndjson"], [rules]))
    (fired,) = [a for a in alerts if "correlation" in a.event.fields]
    assert fired.event.fields["correlation"]["group"] == {"ParentImage": "/usr/bin/bash"}
    assert fired.origin.line == 6
