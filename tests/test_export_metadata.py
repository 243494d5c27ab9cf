"""Metadata: one source of truth in the rule, documented defaults, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import make_rule

from taintsigma.cli.main import cli
from taintsigma.errors import ExportError
from taintsigma.resources import bundled_rules_dir
from taintsigma.rules.loader import load_rules
from taintsigma.rules.metadata import Duration, check_metadata, load_metadata

RID = "6f1c9d52-3c1e-4f37-9a55-0d1ad1b6c2a1"


def _rule(**extra: object):
    return make_rule({"selection": {"program": "sshd"}}, rule_id=RID, description="d", **extra)


def test_flagship_metadata_comes_from_the_rule() -> None:
    meta = load_metadata(next(iter(load_rules([bundled_rules_dir() / "tainted_kernel_module_load.yml"]))))
    assert (meta.level, meta.severity, meta.risk_score, meta.version) == ("low", "low", 21, 5)
    assert (meta.interval.text, meta.lookback.text, meta.max_alerts) == ("5m", "9m", 100)
    assert meta.elastic_index == ("logs-system.syslog-*",)
    assert meta.attack.named_technique_ids == ("T1547.006", "T1014")
    assert meta.warnings == ()


@pytest.mark.parametrize(
    ("level", "severity", "risk"),
    [("informational", "low", 21), ("low", "low", 21), ("medium", "medium", 47),
     ("high", "high", 73), ("critical", "critical", 99)],
)  # fmt: skip
def test_risk_score_defaults_from_level(level: str, severity: str, risk: int) -> None:
    meta = load_metadata(_rule(level=level))
    assert (meta.severity, meta.risk_score) == (severity, risk)


def test_lookback_defaults_to_interval_plus_4m() -> None:
    meta = load_metadata(_rule(schedule={"interval": "1h"}))
    assert (meta.interval.text, meta.lookback.text) == ("1h", "64m")


def test_rule_values_override_defaults() -> None:
    meta = load_metadata(
        _rule(
            risk_score=5, version=3, schedule={"interval": "10m", "lookback": "1h", "max_alerts": 7}
        )
    )
    assert (meta.risk_score, meta.version, meta.lookback.text, meta.max_alerts) == (5, 3, "1h", 7)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"schedule": {"interval": "5 minutes"}},
         "field 'schedule.interval': '5 minutes' is not a time span like 30s, 5m, 1h or 1d"),
        ({"schedule": {"lookback": "0m"}},
         "field 'schedule.lookback': '0m' is not a time span like 30s, 5m, 1h or 1d"),
        ({"schedule": {"interval": "10m", "lookback": "5m"}},
         ("field 'schedule.lookback': 5m is shorter than the interval 10m: events between runs "
         "would never be searched")),
        ({"schedule": {"max_alerts": 0}}, "field 'schedule.max_alerts': must be from 1 to 10000000, not 0"),
        ({"schedule": "5m"}, "field 'schedule': must be a mapping with interval, lookback and max_alerts"),
        ({"risk_score": 120}, "field 'risk_score': must be from 0 to 100, not 120"),
        ({"risk_score": "high"}, "field 'risk_score': must be a whole number from 0 to 100, not 'high'"),
        ({"version": 0}, "field 'version': must be from 1 to 2147483647, not 0"),
        ({"elastic": {"index": []}}, "field 'elastic.index': must name at least one index pattern"),
        ({"elastic": {"tags": [1]}}, "field 'elastic.tags': must be a list of strings"),
        ({"note": ["x"]}, "field 'note': must be text (Markdown)"),
    ],
)  # fmt: skip
def test_invalid_values_are_one_line_errors_naming_rule_and_field(
    extra: dict, message: str
) -> None:
    with pytest.raises(ExportError) as caught:
        load_metadata(_rule(**extra))
    assert str(caught.value) == f"rule {RID}: {message}"


def test_unknown_keys_are_warnings_not_silence() -> None:
    meta = load_metadata(_rule(schedule={"intervall": "5m"}, elastic={"indexes": ["x"]}))
    assert meta.warnings == (
        f"rule {RID}: unknown key 'schedule.intervall' ignored (known: interval, lookback, max_alerts)",
        (
            f"rule {RID}: unknown key 'elastic.indexes' ignored (known: index, tags, author, "
            "timestamp_override, false_positives, integration)"
        ),
    )


def test_check_leaves_attack_tags_to_their_own_check() -> None:
    rule = _rule(tags=["attack.t9999", "attack.persistance"], schedule={"intervall": "5m"})
    assert load_metadata(rule).warnings[:2] == (
        f"rule {RID}: tag 'attack.t9999' names no technique of ATT&CK 18.1; left out",
        (
            f"rule {RID}: tag 'attack.persistance' names no tactic of ATT&CK 18.1 "
            "(did you mean 'attack.persistence'?); left out"
        ),
    )
    assert [issue.message for issue in check_metadata(rule)] == [
        f"rule {RID}: unknown key 'schedule.intervall' ignored (known: interval, lookback, max_alerts)"
    ]


def test_duration_text_uses_the_largest_unit() -> None:
    assert [Duration.parse(t).text for t in ("60s", "90s", "120m", "24h", "1d")] == [
        "1m", "90s", "2h", "1d", "1d",
    ]  # fmt: skip


def test_check_command_reports_invalid_metadata(tmp_path: Path) -> None:
    path = tmp_path / "bad_schedule.yml"
    path.write_text(
        f"title: Bad schedule\nid: {RID}\nstatus: test\ndescription: d\nauthor: a\n"
        "date: 2026-01-01\nlogsource: {product: linux, service: syslog}\n"
        "detection: {selection: {program: kernel}, condition: selection}\nlevel: low\n"
        "schedule: {interval: 5 minutes}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stdout == (
        f"{path}: rule {RID}: high: field 'schedule.interval': '5 minutes' is not a time span "
        "like 30s, 5m, 1h or 1d [export_metadata]\n"
    )


CORRELATION = """\
title: Failed su
id: 0b8c5b8e-5c3e-4f0e-9a39-1f0e0e0e0e03
name: failed_su
status: test
description: a failed su
logsource: {product: linux, service: syslog}
detection:
  sel:
    program: su
    message|contains: 'authentication failure'
  condition: sel
level: low
---
title: Many failed su
id: 0b8c5b8e-5c3e-4f0e-9a39-1f0e0e0e0e04
status: test
description: many failed su on one host
correlation:
  type: event_count
  rules: [failed_su]
  group-by: [hostname]
  timespan: 10m
  condition: {gte: 5}
level: high
"""


def _correlation(tmp_path: Path, extra: str = ""):
    path = tmp_path / "corr.yml"
    path.write_text(CORRELATION + extra, encoding="utf-8")
    return load_rules([path])


def test_correlation_takes_its_rules_logsource_and_a_lookback_covering_its_window(
    tmp_path: Path,
) -> None:
    correlation = list(_correlation(tmp_path))[1]
    meta = load_metadata(correlation)
    assert (meta.product, meta.service, meta.elastic_index) == (
        "linux", "syslog", ("logs-system.syslog-*",)
    )  # fmt: skip
    # a 10m window ending anywhere since the last run (5m ago) needs 15m of events
    assert meta.lookback.text == "15m"


def test_correlation_with_a_short_lookback_is_warned(tmp_path: Path) -> None:
    correlation = list(_correlation(tmp_path, "schedule: {lookback: 9m}\n"))[1]
    assert load_metadata(correlation).warnings == (
        (
            "rule 0b8c5b8e-5c3e-4f0e-9a39-1f0e0e0e0e04: schedule.lookback 9m is shorter than the "
            "correlation timespan 10m: a run cannot see a whole window"
        ),
    )


def test_correlation_exports_once_not_per_base_rule(tmp_path: Path) -> None:
    from taintsigma.export.run import export_rules

    report = export_rules(_correlation(tmp_path), "splunk-savedsearches")
    assert [p.rule_id for p in report.packages] == ["0b8c5b8e-5c3e-4f0e-9a39-1f0e0e0e0e04"]
    assert "\ndispatch.earliest_time = -15m@m\n" in report.packages[0].text
