"""Correlation rules of all seven types over time-ordered events, inside and outside the timespan."""

from __future__ import annotations

import zlib
from typing import Any

import pytest
from sigma.collection import SigmaCollection

from taintsigma.convert.pipelines import taintsigma_ecs_syslog
from taintsigma.errors import ErrorPolicy, RuleCompileError
from taintsigma.evaluate import CorrelationAlert, compile_rules

BASE = """
title: Failed login
id: 11111111-0000-4000-8000-000000000001
name: failed_login
status: test
logsource: {product: linux, service: syslog}
detection:
  selection:
    program: sshd
    message|startswith: Failed password
  condition: selection
level: low
---
title: Accepted login
id: 11111111-0000-4000-8000-000000000002
name: accepted_login
status: test
logsource: {product: linux, service: syslog}
detection:
  selection:
    program: sshd
    message|startswith: Accepted password
  condition: selection
level: low
---
title: Sudo
id: 11111111-0000-4000-8000-000000000003
name: sudo
status: test
logsource: {product: linux, service: syslog}
detection:
  selection:
    program: sudo
  condition: selection
level: low
"""


def correlation(body: str, *, name: str = "corr", generate: bool = False) -> str:
    return f"""
---
title: Correlation {name}
id: 22222222-0000-4000-8000-{zlib.crc32(name.encode()):012d}
name: {name}
status: test
correlation:
{body}
  generate: {str(generate).lower()}
level: high
"""


def run(
    yaml_text: str, stream: list[tuple[float, dict[str, Any]]], pipeline: Any = None
) -> list[CorrelationAlert]:
    matcher = compile_rules(SigmaCollection.from_yaml(yaml_text), pipeline)
    engine = matcher.correlations
    alerts: list[CorrelationAlert] = []
    for ts, event in stream:
        alerts.extend(engine.feed(event, matcher.match(event), ts))
    return alerts + engine.flush()


def failed(host: str = "h1", user: str = "root") -> dict[str, Any]:
    return {
        "program": "sshd",
        "hostname": host,
        "user": user,
        "message": f"Failed password for {user}",
    }


def accepted(host: str = "h1", user: str = "root") -> dict[str, Any]:
    return {
        "program": "sshd",
        "hostname": host,
        "user": user,
        "message": f"Accepted password for {user}",
    }


def sudo(host: str = "h1", size: int = 1) -> dict[str, Any]:
    return {"program": "sudo", "hostname": host, "size": size, "message": "x"}


EVENT_COUNT = correlation("""  type: event_count
  rules: [failed_login]
  group-by: [hostname]
  timespan: 1m
  condition: {gte: 3}""")


def test_event_count_fires_inside_the_timespan() -> None:
    [alert] = run(BASE + EVENT_COUNT, [(0, failed()), (20, failed()), (50, failed())])
    assert alert.title == "Correlation corr"
    assert alert.level == "high"
    assert alert.rules == ("11111111-0000-4000-8000-000000000001",)
    assert alert.group == {"hostname": "h1"}
    assert alert.event_count == 3
    assert alert.window == (0.0, 50.0)


def test_event_count_does_not_fire_when_spread_beyond_the_timespan() -> None:
    assert run(BASE + EVENT_COUNT, [(0, failed()), (40, failed()), (70, failed())]) == []


def test_event_count_groups_by_field() -> None:
    stream = [
        (0, failed("h1")),
        (1, failed("h2")),
        (2, failed("h1")),
        (3, failed("h2")),
        (4, failed("h3")),
    ]
    assert run(BASE + EVENT_COUNT, stream) == []
    stream += [(5, failed("h2"))]
    [alert] = run(BASE + EVENT_COUNT, stream)
    assert alert.group == {"hostname": "h2"}


def test_event_count_lt_is_decided_when_the_window_closes() -> None:
    rare = correlation("""  type: event_count
  rules: [sudo]
  group-by: [hostname]
  timespan: 10s
  condition: {lt: 2}""")
    alerts = run(BASE + rare, [(0, sudo("h1")), (1, sudo("h2")), (5, sudo("h2")), (30, sudo("h3"))])
    assert sorted(a.group["hostname"] for a in alerts) == ["h1", "h3"]


def test_value_count_counts_distinct_values() -> None:
    spray = correlation("""  type: value_count
  rules: [failed_login]
  group-by: [hostname]
  timespan: 5m
  condition: {gte: 3, field: user}""")
    same_user = [(i, failed(user="root")) for i in range(5)]
    assert run(BASE + spray, same_user) == []
    users = [(i * 10, failed(user=u)) for i, u in enumerate(["a", "b", "a", "c"])]
    [alert] = run(BASE + spray, users)
    assert alert.event_count == 4
    outside = [(0, failed(user="a")), (200, failed(user="b")), (400, failed(user="c"))]
    assert run(BASE + spray, outside) == []


def test_temporal_needs_every_rule_within_the_timespan() -> None:
    temporal = correlation("""  type: temporal
  rules: [failed_login, accepted_login]
  group-by: [hostname, user]
  timespan: 1m""")
    [alert] = run(BASE + temporal, [(0, accepted()), (30, failed())])  # any order
    assert set(alert.rules) == {
        "11111111-0000-4000-8000-000000000001",
        "11111111-0000-4000-8000-000000000002",
    }
    assert alert.group == {"hostname": "h1", "user": "root"}
    assert run(BASE + temporal, [(0, failed()), (90, accepted())]) == []
    assert run(BASE + temporal, [(0, failed(user="a")), (1, accepted(user="b"))]) == []


def test_temporal_ordered_needs_the_listed_order() -> None:
    ordered = correlation("""  type: temporal_ordered
  rules: [failed_login, accepted_login]
  group-by: [hostname]
  timespan: 1m""")
    assert len(run(BASE + ordered, [(0, failed()), (10, accepted())])) == 1
    assert run(BASE + ordered, [(0, accepted()), (10, failed())]) == []
    assert run(BASE + ordered, [(0, failed()), (70, accepted())]) == []


def test_temporal_with_an_extended_condition() -> None:
    expression = correlation("""  type: temporal
  rules: [failed_login, accepted_login, sudo]
  group-by: [hostname]
  timespan: 1m
  condition: failed_login and (accepted_login or sudo)""")
    assert len(run(BASE + expression, [(0, failed()), (5, sudo())])) == 1
    assert run(BASE + expression, [(0, sudo()), (5, accepted())]) == []


def test_temporal_with_not_is_decided_when_the_window_closes() -> None:
    expression = correlation("""  type: temporal
  rules: [failed_login, accepted_login]
  group-by: [hostname]
  timespan: 1m
  condition: failed_login and not accepted_login""")
    assert run(BASE + expression, [(0, failed()), (5, accepted())]) == []
    assert len(run(BASE + expression, [(0, failed()), (100, failed("h2"))])) == 2


@pytest.mark.parametrize(
    ("kind", "extra", "sizes", "fires"),
    [
        ("value_sum", "gt: 100", [60, 50], True),
        ("value_sum", "gt: 100", [60, 30], False),
        ("value_avg", "gte: 50", [40, 60, 50], True),
        ("value_avg", "gte: 50", [40, 60, 10], False),
        ("value_percentile", "gte: 90\n    percentile: 90", [1, 2, 3, 100], True),
        ("value_percentile", "gte: 90\n    percentile: 50", [1, 2, 3, 100], False),
    ],
)
def test_value_aggregations(kind: str, extra: str, sizes: list[int], fires: bool) -> None:
    body = f"""  type: {kind}
  rules: [sudo]
  group-by: [hostname]
  timespan: 1m
  condition:
    field: size
    {extra}"""
    stream = [(i, sudo(size=s)) for i, s in enumerate(sizes)]
    assert bool(run(BASE + correlation(body), stream)) is fires
    # the same values spread beyond the timespan never fire
    if kind == "value_sum":
        spread = [(i * 100, sudo(size=s)) for i, s in enumerate(sizes)]
        assert run(BASE + correlation(body), spread) == []


def test_aliases_map_group_fields_per_rule() -> None:
    aliased = """
---
title: Outbound
id: 11111111-0000-4000-8000-000000000004
name: outbound
status: test
logsource: {product: linux, service: syslog}
detection:
  selection:
    program: proxy
  condition: selection
level: low
""" + correlation("""  type: temporal
  rules: [sudo, outbound]
  group-by: [machine]
  timespan: 1m
  aliases:
    machine:
      sudo: hostname
      outbound: client""")
    stream = [(0, sudo("h9")), (3, {"program": "proxy", "client": "h9"})]
    [alert] = run(BASE + aliased, stream)
    assert alert.group == {"machine": "h9"}
    assert run(BASE + aliased, [(0, sudo("h9")), (3, {"program": "proxy", "client": "h8"})]) == []


def test_chained_correlations() -> None:
    chain = correlation(
        """  type: event_count
  rules: [failed_login]
  group-by: [hostname]
  timespan: 1m
  condition: {gte: 2}""",
        name="many_failures",
    ) + correlation(
        """  type: temporal_ordered
  rules: [many_failures, accepted_login]
  group-by: [hostname]
  timespan: 5m""",
        name="brute_force_success",
    )
    stream = [(0, failed()), (10, failed()), (60, accepted())]
    alerts = run(BASE + chain, stream)
    assert [a.title for a in alerts] == ["Correlation brute_force_success"]
    assert alerts[0].group == {"hostname": "h1"}
    # the events behind the inner alert, then the accepted login
    assert [e["message"] for e in alerts[0].events] == [
        "Failed password for root",
        "Failed password for root",
        "Accepted password for root",
    ]
    assert set(alerts[0].rules) == {
        next(r for r in alerts[0].rules if r.startswith("22222222")),
        "11111111-0000-4000-8000-000000000002",
    }
    assert run(BASE + chain, [(0, failed()), (60, accepted())]) == []


def test_generate_controls_the_base_rules_output() -> None:
    matcher = compile_rules(SigmaCollection.from_yaml(BASE + EVENT_COUNT))
    [match] = matcher.match(failed())
    assert match.output is False  # feeds the correlation only
    generating = BASE + correlation(
        EVENT_COUNT.split("correlation:\n")[1].split("  generate")[0], name="g", generate=True
    )
    matcher = compile_rules(SigmaCollection.from_yaml(generating))
    [match] = matcher.match(failed())
    assert match.output is True


def test_group_fields_follow_the_pipeline() -> None:
    stream = [
        (
            t,
            {
                "process": {"name": "sshd"},
                "host": {"hostname": "h1", "os": {"type": "linux"}},
                "event": {"dataset": "system.syslog"},
                "message": "Failed password for root",
            },
        )
        for t in (0, 1, 2)
    ]
    [alert] = run(BASE + EVENT_COUNT, stream, taintsigma_ecs_syslog())
    assert alert.group == {"hostname": "h1"}


def test_timestamps_may_be_iso_text() -> None:
    stream = [(f"2026-11-26T04:00:{s:02d}Z", failed()) for s in (0, 10, 20)]
    assert len(run(BASE + EVENT_COUNT, stream)) == 1  # type: ignore[arg-type]


def test_correlation_over_a_broken_rule_is_an_error_naming_it() -> None:
    broken = BASE.replace("message|startswith: Failed password", "message|re: '(?<=x)y'")
    collection = SigmaCollection.from_yaml(broken + EVENT_COUNT)
    with pytest.raises(RuleCompileError, match="11111111-0000-4000-8000-000000000001"):
        compile_rules(collection)
    matcher = compile_rules(collection, on_error=ErrorPolicy.COLLECT)
    reasons = dict(matcher.errors)
    assert "did not compile" in str(reasons[next(k for k in reasons if k.startswith("22222222"))])
    assert matcher.correlations.rule_ids == []


@pytest.mark.parametrize(
    ("condition", "counts", "fires"),
    [
        ("eq: 2", [2], True),
        ("eq: 2", [3], False),
        ("neq: 2", [3], True),
        ("neq: 2", [2], False),
        ("lte: 2", [2], True),
        ("lte: 2", [3], False),
        ("gt: 2", [3], True),
        ("gt: 2", [2], False),
    ],
)
def test_event_count_operators(condition: str, counts: list[int], fires: bool) -> None:
    body = f"""  type: event_count
  rules: [sudo]
  group-by: [hostname]
  timespan: 10s
  condition: {{{condition}}}"""
    stream = [(float(i), sudo()) for i in range(counts[0])]
    assert bool(run(BASE + correlation(body), stream)) is fires


def test_windows_closed_by_later_events_alert_before_flush() -> None:
    body = """  type: event_count
  rules: [sudo]
  group-by: [hostname]
  timespan: 10s
  condition: {eq: 1}"""
    matcher = compile_rules(SigmaCollection.from_yaml(BASE + correlation(body)))
    engine = matcher.new_correlation_engine()
    assert engine.feed(sudo("h1"), matcher.match(sudo("h1")), 0) == []
    [alert] = engine.feed(sudo("h2"), matcher.match(sudo("h2")), 11)  # closes h1's window
    assert alert.group == {"hostname": "h1"}
    [alert] = engine.flush()
    assert alert.group == {"hostname": "h2"}
