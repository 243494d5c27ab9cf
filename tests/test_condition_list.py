"""A rule whose condition is a list (Sigma: "either") gives one query per target."""

from __future__ import annotations

from pathlib import Path

import pytest
from regen_golden import TARGETS

from taintsigma import convert_rules, load_rules
from taintsigma.errors import ErrorPolicy
from taintsigma.export.formats import format_ids
from taintsigma.export.run import export_rules

RULE = Path(__file__).parent / "rules" / "condition_list.yml"
# Each target's way of saying "or" between the two selections.
OR_WORD = {
    "kibana-kql": " or ",
    "lucene": " OR ",
    "eql": " or ",
    "esql": " or ",
    "splunk": " OR ",
    "sentinel": " or ",
}


@pytest.mark.parametrize("target_id", TARGETS)
def test_condition_list_is_one_query_meaning_either(target_id: str) -> None:
    report = convert_rules(load_rules([RULE]), target_id)
    [conversion] = report.conversions
    query = conversion.query
    # Before the fix pySigma gave one query per condition, joined by a newline.
    assert query.count("sshd") == 1 and query.count("cron") == 1
    assert "\n" not in query.replace("\n| where", " | where")  # Kusto puts `| where` on a line
    assert OR_WORD[target_id] in query


def test_condition_list_in_elastics_eql_engine() -> None:
    eql = pytest.importorskip("eql", reason="Elastic's eql engine is not installed (test extra)")
    [conversion] = convert_rules(load_rules([RULE]), "eql").conversions
    with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
        query = eql.parse_query(conversion.query)
    base = {"host": {"os": {"type": "linux"}, "hostname": "db02"}, "event": {"dataset": "system.syslog"}}
    events = {
        "sshd": {**base, "process": {"name": "sshd"}},
        "cron on web01": {**base, "host": {"os": {"type": "linux"}, "hostname": "web01"}, "process": {"name": "cron"}},
        "cron elsewhere": {**base, "process": {"name": "cron"}},
    }
    matched = set()
    for name, event in events.items():
        engine = eql.PythonEngine()
        engine.add_query(query)
        engine.add_output_hook(lambda _e, name=name: matched.add(name))
        engine.stream_events([eql.Event("any", 0, event)])
    assert matched == {"sshd", "cron on web01"}


@pytest.mark.parametrize("format_id", format_ids())
def test_condition_list_exports_one_query(format_id: str) -> None:
    report = export_rules(load_rules([RULE]), format_id, on_error=ErrorPolicy.COLLECT)
    assert not report.errors
    [package] = report.packages
    # One detection query: each selection's program appears once (before the fix, twice in
    # KQL packages: the two queries were concatenated, and Splunk's search ANDed them).
    assert package.text.count("sshd") == 1, package.text
    assert package.text.count("web01") == 1, package.text
