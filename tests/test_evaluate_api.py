"""The evaluator's public API: compile_rules, match, log source routing, errors, prefilter."""

from __future__ import annotations

import pytest
from helpers import make_rule
from sigma.collection import SigmaCollection

import taintsigma
from taintsigma.convert.pipelines import taintsigma_ecs_syslog
from taintsigma.errors import ErrorPolicy, RuleCompileError
from taintsigma.evaluate import LogSource, Match, compile_rules

FLAGSHIP_ID = "05cad2fb-200c-407f-b472-02ea8c9e5e4a"
TAINT = "module verification failed: signature and/or required key missing - tainting kernel"
SYSLOG = LogSource(product="linux", service="syslog")


def ecs(program: str, message: str, **extra: object) -> dict[str, object]:
    return {
        "@timestamp": "2026-11-26T04:00:00Z",
        "host": {"os": {"type": "linux"}, "hostname": "web1"},
        "event": {"dataset": "system.syslog"},
        "process": {"name": program},
        "message": message,
        **extra,
    }


def test_flagship_matches_taxonomy_events_without_pipeline() -> None:
    matcher = compile_rules(taintsigma.load_rules())
    [match] = matcher.match({"program": "kernel", "message": f"evil: {TAINT}"})
    assert match == Match(
        rule_id=FLAGSHIP_ID,
        title="Tainted Kernel Module Load",
        level="low",
        tags=["attack.persistence", "attack.defense-evasion", "attack.t1547.006", "attack.t1014"],
        rule=match.rule,
        matched=("selection",),
    )
    assert matcher.match({"program": "sshd", "message": TAINT}) == []
    assert matcher.match({"program": "kernel", "message": "module verification ok"}) == []


def test_flagship_matches_ecs_events_after_the_ecs_pipeline() -> None:
    matcher = compile_rules(taintsigma.load_rules(), taintsigma_ecs_syslog())
    assert [m.rule_id for m in matcher.match(ecs("kernel", f"x: {TAINT}"), SYSLOG)] == [FLAGSHIP_ID]
    # case-insensitive by default
    assert len(matcher.match(ecs("KERNEL", TAINT.upper()), SYSLOG)) == 1
    # the conditions the pipeline adds are honoured like any detection item
    wrong_dataset = ecs("kernel", TAINT, event={"dataset": "system.auth"})
    assert matcher.match(wrong_dataset, SYSLOG) == []
    # flat dotted keys resolve as nested objects do
    flat = {
        "host.os.type": "linux",
        "event.dataset": "system.syslog",
        "process.name": "kernel",
        "message": TAINT,
    }
    assert len(matcher.match(flat)) == 1


def test_log_source_routing_skips_rules_of_other_sources() -> None:
    auditd = make_rule(
        {"selection": {"type": "EXECVE"}}, logsource={"product": "linux", "service": "auditd"}
    )
    anylinux = make_rule({"selection": {"type": "EXECVE"}}, logsource={"product": "linux"})
    matcher = compile_rules([auditd, anylinux])
    event = {"type": "execve"}
    assert {m.rule_id for m in matcher.match(event)} == {str(auditd.id), str(anylinux.id)}
    assert [m.rule_id for m in matcher.match(event, SYSLOG)] == [str(anylinux.id)]
    assert [
        m.rule_id for m in matcher.match(event, LogSource(product="linux", service="auditd"))
    ] == [
        str(auditd.id),
        str(anylinux.id),
    ]
    assert matcher.match(event, LogSource(product="windows")) == []


def test_accepts_a_sigma_collection_and_a_list_of_rules() -> None:
    rule = make_rule({"selection": {"a": "b"}})
    for rules in (SigmaCollection([rule]), [rule]):
        assert len(compile_rules(rules).match({"a": "B"})) == 1


def test_bad_rule_raises_naming_rule_and_pattern() -> None:
    rule = make_rule(
        {"selection": {"message|re": "(?<=x)y"}}, rule_id="6a1c1a6e-0000-4000-8000-000000000001"
    )
    with pytest.raises(RuleCompileError) as caught:
        compile_rules([rule])
    text = str(caught.value)
    assert "6a1c1a6e-0000-4000-8000-000000000001" in text
    assert "(?<=x)y" in text
    assert "regex_engine='re'" in text
    assert "\n" not in text


def test_collect_policy_keeps_the_good_rules() -> None:
    bad = make_rule(
        {"selection": {"message|re": "(a)\\1"}}, rule_id="6a1c1a6e-0000-4000-8000-000000000002"
    )
    good = make_rule({"selection": {"message": "hello"}})
    matcher = compile_rules([bad, good], on_error=ErrorPolicy.COLLECT)
    assert [rid for rid, _ in matcher.errors] == ["6a1c1a6e-0000-4000-8000-000000000002"]
    assert isinstance(matcher.errors[0][1], RuleCompileError)
    assert len(matcher.match({"message": "hello"})) == 1


def test_python_re_engine_is_an_opt_in() -> None:
    rule = make_rule({"selection": {"message|re": "(?<=x)y"}})
    matcher = compile_rules([rule], regex_engine="re")
    assert len(matcher.match({"message": "xy"})) == 1
    assert matcher.match({"message": "zy"}) == []


def test_unknown_regex_engine_is_an_error() -> None:
    with pytest.raises(RuleCompileError, match="unknown regex engine"):
        compile_rules([make_rule({"selection": {"a": "b"}})], regex_engine="pcre")


def test_matched_names_the_detections_that_matched() -> None:
    rule = make_rule(
        {"sel_a": {"a": "1"}, "sel_b": {"b": "2"}, "filter": {"c": "3"}},
        condition="1 of sel_* and not filter",
    )
    matcher = compile_rules([rule])
    [match] = matcher.match({"a": "1", "b": "2"})
    assert match.matched == ("sel_a", "sel_b")
    [match] = matcher.match({"a": "1", "b": "0"})
    assert match.matched == ("sel_a",)


def test_public_names_are_exported_lazily() -> None:
    assert taintsigma.compile_rules is compile_rules
    assert taintsigma.LogSource is LogSource


def test_a_value_the_evaluator_cannot_honour_is_an_error_naming_rule_and_construct() -> None:
    # A pipeline may turn placeholders into query text for a SIEM: no native meaning.
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import QueryExpressionPlaceholderTransformation

    pipeline = ProcessingPipeline(
        items=[
            ProcessingItem(QueryExpressionPlaceholderTransformation(expression="{field} in list"))
        ]
    )
    rule = make_rule(
        {"selection": {"user|expand": "%admins%"}}, rule_id="6a1c1a6e-0000-4000-8000-000000000004"
    )
    good = make_rule({"selection": {"user": "root"}})
    with pytest.raises(
        RuleCompileError,
        match=r"6a1c1a6e-0000-4000-8000-000000000004: value .*SigmaQueryExpression",
    ):
        compile_rules([rule], pipeline)
    matcher = compile_rules([rule, good], pipeline, on_error=ErrorPolicy.COLLECT)
    assert [rid for rid, _ in matcher.errors] == ["6a1c1a6e-0000-4000-8000-000000000004"]
    assert len(matcher.match({"user": "root"})) == 1


def test_a_malformed_condition_is_an_error_naming_the_rule() -> None:
    rule = make_rule(
        {"selection": {"a": "b"}},
        "selection | count() > 5",
        rule_id="6a1c1a6e-0000-4000-8000-000000000005",
    )
    with pytest.raises(
        RuleCompileError, match="6a1c1a6e-0000-4000-8000-000000000005: .*pipe syntax"
    ):
        compile_rules([rule])
