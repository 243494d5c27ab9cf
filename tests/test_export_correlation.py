"""Correlation rules exported to every format, checked against the native evaluator.

The fixture ``tests/fixtures/correlations/tainted_kernel_module_burst.yml`` counts the flagship
rule: five tainted module loads on one host within ten minutes. Its exports are pinned by
goldens (test_export_formats.py); here the sample events inside and outside the window go
through the native evaluator, Apache Lucene (the threshold rule's query, counted per host as
Kibana's threshold does), Elastic's eql engine (EQL sequences) and each format's window rule.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from export_checks import (
    check_elastic_toml,
    check_kibana_ndjson,
    check_sentinel,
    check_sentinel_arm,
    check_splunk_savedsearches,
)
from flagship_events import FLAGSHIP_TEXT
from flagship_events import event as ecs_event
from regen_golden import BUNDLED, CORRELATIONS, GOLDEN
from test_lucene_engine import lucene  # noqa: F401  (the Apache Lucene fixture)

from taintsigma import load_rules, scan_paths
from taintsigma.convert.conversion import convert_rules
from taintsigma.errors import ErrorPolicy
from taintsigma.export.run import export_rules

# The correlation counts the flagship rule; the other bundled rules are not its concern.
FLAGSHIP = BUNDLED / "tainted_kernel_module_load.yml"
BURST_ID = "3f0d6c8e-2b5a-4c1e-9d7f-6a8b9c0d1e2f"
START = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
TAINT = f"evil: {FLAGSHIP_TEXT}"
# host -> minutes after 12:00 of its tainted module loads
SCENARIOS = {
    "inside": [1, 2, 3, 4, 6],  # five within 5 minutes, inside one 10-minute bucket: fires
    "spread": [0, 3, 6, 9, 12],  # five over 12 minutes: no 10-minute window holds five
    "too_few": [1, 2, 3, 4],  # four: below the threshold
}
FIRES = {"inside"}


def _events() -> list[tuple[float, dict[str, str]]]:
    timed = []
    for host, minutes in SCENARIOS.items():
        for minute in minutes:
            at = START + dt.timedelta(minutes=minute)
            doc = ecs_event(process__name="kernel", host__hostname=host, message=TAINT)
            doc["@timestamp"] = at.isoformat().replace("+00:00", "Z")
            timed.append((at.timestamp(), doc))
    # a kernel line that is no taint, on the firing host: never counted
    noise = ecs_event(process__name="kernel", host__hostname="inside", message="eth0: link up")
    noise["@timestamp"] = (START + dt.timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    timed.append(((START + dt.timedelta(minutes=5)).timestamp(), noise))
    return sorted(timed, key=lambda pair: pair[0])


def _export(format_id: str, rules: list[Path] | None = None) -> str:
    report = export_rules(load_rules(rules or [FLAGSHIP, CORRELATIONS]), format_id)
    (package,) = [p for p in report.packages if p.rule_id == BURST_ID]
    return package.text


def test_native_evaluator_fires_only_inside_the_window(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(doc) + "\n" for _, doc in _events()), encoding="utf-8")
    alerts = [a.to_dict() for a in scan_paths([path], load_rules([FLAGSHIP, CORRELATIONS]))]
    fired = {
        a["event"]["correlation"]["group"]["hostname"]
        for a in alerts
        if a["rule"]["id"] == BURST_ID
    }
    assert fired == FIRES


def test_kibana_threshold_rule() -> None:
    (rule,) = check_kibana_ndjson(_export("kibana-ndjson"))
    assert (rule["type"], rule["language"]) == ("threshold", "kuery")
    assert rule["threshold"] == {"field": ["host.hostname"], "value": 5}
    assert rule["from"] == "now-10m" and rule["interval"] == "5m"
    # the query part is the flagship's own KQL
    golden = (GOLDEN / "kibana-kql" / "tainted_kernel_module_load.kql").read_text("utf-8")
    assert rule["query"] == golden.rstrip("\n")
    assert {"name": "host.hostname", "type": "keyword", "ecs": True} in rule["required_fields"]
    toml = check_elastic_toml(_export("elastic-toml"))
    assert toml["rule"]["threshold"] == {"field": ["host.hostname"], "value": 5}


def test_threshold_query_part_in_lucene_counted_as_kibana_counts(lucene) -> None:  # noqa: F811
    """Kibana runs the threshold rule every 5m over [now-10m, now] and fires for a host with
    at least 5 matches; the query part (the flagship's) is decided by Apache Lucene."""
    query = (GOLDEN / "lucene" / "tainted_kernel_module_load.lucene").read_text("utf-8").strip()
    events = _events()
    named = {str(i): {k: v for k, v in doc.items() if k != "@timestamp"} for i, (_, doc) in
             enumerate(events)}  # fmt: skip
    [matched] = lucene(named, [query])
    times = {str(i): at for i, (at, _) in enumerate(events)}
    fired = set()
    for run in range(0, 40, 5):  # runs at 12:00, 12:05, … 12:35
        end = START.timestamp() + run * 60
        counts: dict[str, int] = {}
        for name in matched:
            if end - 600 <= times[name] <= end:
                host = named[name]["host.hostname"]
                counts[host] = counts.get(host, 0) + 1
        fired |= {host for host, count in counts.items() if count >= 5}
    assert fired == FIRES


def _eql_hosts(query: str) -> set[str]:
    import eql
    from differential import nest

    with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
        parsed = eql.parse_query(query)
    found: list = []
    engine = eql.PythonEngine({"time_unit": 1})  # event times in seconds
    engine.add_query(parsed)
    engine.add_output_hook(found.append)
    engine.stream_events(
        [eql.Event("any", at, nest({k: v for k, v in doc.items() if k != "@timestamp"}))
         for at, doc in _events()]
    )  # fmt: skip
    return {e.data["host"]["hostname"] for sequence in found for e in sequence.events}


def test_eql_target_sequence_agrees_in_elastics_eql_engine() -> None:
    report = convert_rules(load_rules([FLAGSHIP, CORRELATIONS]), "eql")
    (conversion,) = [c for c in report.conversions if c.rule_id == BURST_ID]
    head, step = conversion.query.split("\n", 1)
    step, _, runs = step.strip().rpartition(" with runs=")
    # the eql engine predates `with runs=N`, Elastic's shorthand for N repeated steps
    query = head.strip() + "\n" + "\n".join([step.strip()] * int(runs))
    assert _eql_hosts(query) == FIRES


def test_splunk_search_counts_fixed_windows_once() -> None:
    text = _export("splunk-savedsearches")
    parser = check_splunk_savedsearches(text)
    (stanza,) = (parser[s] for s in parser.sections())
    search = stanza["search"]
    assert "| bin _time span=10m" in search and "by _time host" in search
    assert "| search event_count >= 5" in search
    assert search.endswith(
        '| where _time + 600 > relative_time(now(), "-5m@m") '
        'AND _time + 600 <= relative_time(now(), "@m")'
    )
    assert (stanza["dispatch.earliest_time"], stanza["dispatch.latest_time"]) == ("-15m@m", "@m")
    assert "dispatch.index_earliest" not in stanza
    assert json.loads(stanza["action.risk.param._risk"])[0]["risk_object_field"] == "host"
    assert _fixed_windows(lambda host, count: count >= 5) == FIRES


def test_sentinel_query_summarizes_fixed_windows_once() -> None:
    (doc,) = check_sentinel(_export("sentinel"))
    assert doc["query"].splitlines()[2:] == [
        "| summarize event_count = count() by bin(TimeGenerated, 10m), Computer",
        "| where event_count >= 5",
        "| where TimeGenerated + 10m > ago(5m) and TimeGenerated + 10m <= now()",
    ]
    assert (doc["queryFrequency"], doc["queryPeriod"]) == ("5m", "15m")
    assert doc["entityMappings"][0]["fieldMappings"][0]["columnName"] == "Computer"
    (arm,) = check_sentinel_arm(_export("sentinel-arm"))
    assert arm["properties"]["query"] == doc["query"]
    assert (arm["properties"]["queryFrequency"], arm["properties"]["queryPeriod"]) == (
        "PT5M", "PT15M"
    )  # fmt: skip


def _fixed_windows(fires: Callable[[str, int], bool]) -> set[str]:
    """Splunk's and Sentinel's semantics: counts per 10-minute bucket of the epoch."""
    counts: dict[tuple[str, int], int] = {}
    for at, doc in _events():
        if TAINT in doc["message"]:
            key = (doc["host.hostname"], int(at) // 600)
            counts[key] = counts.get(key, 0) + 1
    return {host for (host, _), count in counts.items() if fires(host, count)}


# --- what a target cannot express is refused, one line ---------------------------------------

TEMPORAL_ORDERED = """\
title: Sudo
id: 0c2d0a47-8c1b-4b0e-a7a2-6e1f6b1e0c01
name: sudo_use
status: test
description: sudo ran
logsource: {product: linux, service: syslog}
detection:
  sel: {program: sudo}
  condition: sel
---
title: Sudo then taint
id: 0c2d0a47-8c1b-4b0e-a7a2-6e1f6b1e0c02
status: test
description: sudo, then a tainted module load, on one host within ten minutes
author: taintsigma
date: 2026-11-30
correlation:
  type: temporal_ordered
  rules: [sudo_use, 05cad2fb-200c-407f-b472-02ea8c9e5e4a]
  group-by: [hostname]
  timespan: 10m
"""


def test_temporal_ordered_is_an_eql_sequence_the_eql_engine_runs(tmp_path: Path) -> None:
    path = tmp_path / "seq.yml"
    path.write_text(TEMPORAL_ORDERED, encoding="utf-8")
    report = export_rules(load_rules([FLAGSHIP, path]), "kibana-ndjson")
    (rule,) = check_kibana_ndjson(report.text())
    assert (rule["type"], rule["language"]) == ("eql", "eql")
    lines = rule["query"].splitlines()
    assert lines[0] == "sequence by host.hostname with maxspan=10m"
    assert 'process.name:"sudo"' in lines[1] and "stringContains~" in lines[2]
    toml = tomllib.loads(export_rules(load_rules([FLAGSHIP, path]), "elastic-toml").text())
    assert toml["rule"]["query"].strip() == rule["query"]


@pytest.mark.parametrize(
    ("format_id", "says"),
    [
        ("splunk-savedsearches", "Splunk cannot express a 'temporal_ordered' correlation"),
        ("sentinel", "Sentinel cannot express a 'temporal_ordered' correlation"),
    ],
)
def test_temporal_ordered_is_refused_where_no_sequence_exists(
    tmp_path: Path, format_id: str, says: str
) -> None:
    path = tmp_path / "seq.yml"
    path.write_text(TEMPORAL_ORDERED, encoding="utf-8")
    report = export_rules(load_rules([FLAGSHIP, path]), format_id, on_error=ErrorPolicy.COLLECT)
    (error,) = report.errors
    assert says in error.message and error.rule_id == "0c2d0a47-8c1b-4b0e-a7a2-6e1f6b1e0c02"


@pytest.mark.parametrize(
    "format_id",
    ["kibana-ndjson", "elastic-toml", "splunk-savedsearches", "sentinel", "sentinel-arm"],
)
def test_a_count_below_a_threshold_is_refused(tmp_path: Path, format_id: str) -> None:
    text = (CORRELATIONS / "tainted_kernel_module_burst.yml").read_text("utf-8")
    path = tmp_path / "quiet.yml"
    path.write_text(text.replace("gte: 5", "lt: 5"), encoding="utf-8")
    report = export_rules(load_rules([FLAGSHIP, path]), format_id, on_error=ErrorPolicy.COLLECT)
    (error,) = report.errors
    assert "the correlation condition 'lt' cannot be expressed (only gt and gte)" in error.message


def test_temporal_is_refused_by_kibana(tmp_path: Path) -> None:
    path = tmp_path / "seq.yml"
    path.write_text(TEMPORAL_ORDERED.replace("temporal_ordered", "temporal"), encoding="utf-8")
    report = export_rules(
        load_rules([FLAGSHIP, path]), "kibana-ndjson", on_error=ErrorPolicy.COLLECT
    )
    (error,) = report.errors
    assert "cannot express a 'temporal' correlation exactly" in error.message


def test_value_count_is_a_threshold_with_cardinality(tmp_path: Path) -> None:
    text = (CORRELATIONS / "tainted_kernel_module_burst.yml").read_text("utf-8")
    path = tmp_path / "pids.yml"
    path.write_text(
        text.replace("type: event_count", "type: value_count").replace(
            "gte: 5", "gte: 3\n    field: pid"
        ),
        encoding="utf-8",
    )
    (rule,) = check_kibana_ndjson(_export("kibana-ndjson", [FLAGSHIP, path]))
    assert rule["threshold"] == {
        "field": ["host.hostname"], "value": 1,
        "cardinality": [{"field": "process.pid", "value": 3}],
    }  # fmt: skip
    (doc,) = check_sentinel(_export("sentinel", [FLAGSHIP, path]))
    assert "| summarize value_count = array_length(make_set(ProcessID))" in doc["query"]
    parser = check_splunk_savedsearches(_export("splunk-savedsearches", [FLAGSHIP, path]))
    (section,) = parser.sections()
    assert "dc(pid) as value_count" in parser[section]["search"]


def _sequence_events() -> list[tuple[float, dict[str, str]]]:
    """sudo then a taint: within 10m on 'ordered' (fires), reversed on 'reversed', 12m apart
    on 'late'."""
    plan = {
        "ordered": [
            (0, "sudo", "alice : TTY=pts/0 ; COMMAND=/sbin/insmod x.ko"),
            (4, "kernel", TAINT),
        ],
        "reversed": [(0, "kernel", TAINT), (4, "sudo", "bob : TTY=pts/1 ; COMMAND=/bin/true")],
        "late": [(0, "sudo", "carol : TTY=pts/2 ; COMMAND=/bin/true"), (12, "kernel", TAINT)],
    }
    timed = []
    for host, steps in plan.items():
        for minute, program, message in steps:
            at = START + dt.timedelta(minutes=minute)
            doc = ecs_event(process__name=program, host__hostname=host, message=message)
            doc["@timestamp"] = at.isoformat().replace("+00:00", "Z")
            timed.append((at.timestamp(), doc))
    return sorted(timed, key=lambda pair: pair[0])


def test_temporal_ordered_agrees_in_eql_engine_and_native_evaluator(tmp_path: Path) -> None:
    import eql
    from differential import nest

    rules = tmp_path / "seq.yml"
    rules.write_text(TEMPORAL_ORDERED, encoding="utf-8")
    (rule,) = check_kibana_ndjson(
        export_rules(load_rules([FLAGSHIP, rules]), "kibana-ndjson").text()
    )
    with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
        parsed = eql.parse_query(rule["query"])
    found: list = []
    engine = eql.PythonEngine({"time_unit": 1})
    engine.add_query(parsed)
    engine.add_output_hook(found.append)
    events = _sequence_events()
    engine.stream_events(
        [eql.Event("any", at, nest({k: v for k, v in doc.items() if k != "@timestamp"}))
         for at, doc in events]
    )  # fmt: skip
    in_eql = {e.data["host"]["hostname"] for sequence in found for e in sequence.events}

    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(doc) + "\n" for _, doc in events), encoding="utf-8")
    alerts = [a.to_dict() for a in scan_paths([path], load_rules([FLAGSHIP, rules]))]
    native = {
        a["event"]["correlation"]["group"]["hostname"]
        for a in alerts
        if a["rule"]["id"] == "0c2d0a47-8c1b-4b0e-a7a2-6e1f6b1e0c02"
    }
    assert in_eql == native == {"ordered"}


CHAINED = """\
---
title: Bursts twice
id: 0c2d0a47-8c1b-4b0e-a7a2-6e1f6b1e0c03
status: test
description: two bursts in an hour
correlation:
  type: temporal_ordered
  rules: [3f0d6c8e-2b5a-4c1e-9d7f-6a8b9c0d1e2f, 3f0d6c8e-2b5a-4c1e-9d7f-6a8b9c0d1e2f]
  group-by: [hostname]
  timespan: 1h
"""


def test_a_correlation_of_correlations_is_refused(tmp_path: Path) -> None:
    text = (CORRELATIONS / "tainted_kernel_module_burst.yml").read_text("utf-8")
    path = tmp_path / "chained.yml"
    path.write_text(text + CHAINED, encoding="utf-8")
    report = export_rules(
        load_rules([FLAGSHIP, path]), "kibana-ndjson", on_error=ErrorPolicy.COLLECT
    )
    messages = [e.message for e in report.errors]
    assert "Kibana cannot export a correlation of correlations" in messages
