"""Necessary literals: the raw-line prefilter and the shared literal index of a rule set."""

from __future__ import annotations

from typing import Any

import orjson
from helpers import make_rule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_differential_properties import events, rules

import taintsigma
from taintsigma.convert.pipelines import taintsigma_ecs_syslog
from taintsigma.evaluate import LogSource, compile_rules
from taintsigma.resources import bundled_rules_dir

TAINT = "module verification failed: signature and/or required key missing - tainting kernel"


def literals_of(
    detection: dict[str, Any], condition: str = "selection", **kw: Any
) -> frozenset[str] | None:
    matcher = compile_rules([make_rule(detection, condition, **kw)])
    prefilter = matcher.literal_prefilter()
    if prefilter is None:
        return None
    return next(iter(prefilter.by_rule.values()), None)


def test_flagship_needs_its_message_not_the_conditions_the_pipeline_adds() -> None:
    matcher = compile_rules(taintsigma.load_rules([bundled_rules_dir() / "tainted_kernel_module_load.yml"]), taintsigma_ecs_syslog())
    prefilter = matcher.literal_prefilter(fields={"message", "process.name"})
    assert prefilter is not None
    assert prefilter.literals == {TAINT}
    assert prefilter.always == frozenset()
    assert prefilter.may_match(f"nov 26 host kernel: x {TAINT}".lower())
    assert not prefilter.may_match("nov 26 host kernel: module verification ok")
    assert prefilter.candidates(TAINT) == {"05cad2fb-200c-407f-b472-02ea8c9e5e4a"}


def test_literals_follow_the_condition() -> None:
    assert literals_of({"selection": {"m|contains": "Foo*Barbaz"}}) == {"barbaz"}
    assert literals_of({"selection": {"m": ["alpha", "beta"]}}) == {"alpha", "beta"}
    # and: the most selective operand; or: the union of both
    both = {"a": {"m": "short"}, "b": {"n|contains": "much longer"}}
    assert literals_of(both, "a and b") == {"much longer"}
    assert literals_of(both, "a or b") == {"short", "much longer"}
    # no literal is necessary under not, for regexes, numbers, null, cidr
    assert literals_of({"a": {"m": "x"}}, "not a") is None
    assert literals_of({"a": {"m": "abc"}, "b": {"n|re": "abc"}}, "a or b") is None
    assert literals_of({"selection": {"n": 42}}) is None
    assert literals_of({"selection": {"ip|cidr": "10.0.0.0/8"}}) is None
    # a keyword of a syslog rule needs its literal in the message
    assert literals_of({"keywords": ["Segfault at"]}, "keywords") == {"segfault at"}


def test_base64offset_gives_one_literal_per_offset() -> None:
    assert literals_of({"selection": {"m|base64offset|contains": "hello"}}) == {
        "agvsbg",
        "hlbgxv",
        "ozwxsb",
    }


def test_fields_the_adapter_does_not_copy_give_no_literal() -> None:
    rule = make_rule({"selection": {"facility": "authpriv"}})
    matcher = compile_rules([rule], taintsigma_ecs_syslog())
    assert matcher.literal_prefilter(fields={"message", "process.name"}) is None
    assert matcher.literal_prefilter().literals == {"authpriv"}  # every field trusted


def test_literals_are_cut_to_text_that_reads_the_same_in_json() -> None:
    assert literals_of({"selection": {"m|contains": 'say "hello world" now'}}) == {"hello world"}


def test_literals_are_cut_where_raw_lines_escape() -> None:
    # RFC 5424 structured data writes ']' as '\]'; Go's JSON encoder writes '<' as \u003c.
    matcher = compile_rules([make_rule({"selection": {"k|contains": "a]b"}})])
    assert matcher.match({"k": "x a]b"})
    prefilter = matcher.literal_prefilter()
    assert prefilter is not None
    assert prefilter.may_match('<13>1 - h app - - [x@1 k="x a\\]b"] m'.lower())
    matcher = compile_rules([make_rule({"selection": {"message|contains": "</script>"}})])
    line = '{"message": "x \\u003c/script\\u003e"}'
    assert matcher.match(orjson.loads(line))
    prefilter = matcher.literal_prefilter(json_escaped=True)
    assert prefilter is not None
    assert prefilter.may_match(line.lower())


def test_rules_without_literals_are_always_candidates() -> None:
    with_literal = make_rule(
        {"selection": {"m": "needle"}}, rule_id="00000000-0000-4000-8000-00000000000a"
    )
    without = make_rule(
        {"selection": {"m|re": "n.edle"}}, rule_id="00000000-0000-4000-8000-00000000000b"
    )
    prefilter = compile_rules([with_literal, without]).literal_prefilter()
    assert prefilter is not None
    assert prefilter.always == {"00000000-0000-4000-8000-00000000000b"}
    assert prefilter.may_match("anything")
    assert prefilter.candidates("no") == {"00000000-0000-4000-8000-00000000000b"}


def _raw(event: dict[str, Any]) -> str:
    return " ".join(str(v) for v in event.values()).lower()


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.data())
def test_a_matching_event_always_holds_one_of_the_rules_literals(data: st.DataObject) -> None:
    detections, condition = data.draw(rules(cased=True))
    event = data.draw(events(detections))
    matcher = compile_rules([make_rule(detections, condition)])
    prefilter = matcher.literal_prefilter()
    if matcher.match(event) and prefilter is not None:
        assert prefilter.may_match(_raw(event))


@SETTINGS
@given(st.data())
def test_the_literal_index_of_a_rule_set_changes_no_verdict(data: st.DataObject) -> None:
    drawn = [data.draw(rules(cased=True)) for _ in range(data.draw(st.integers(3, 6)))]
    compiled = [make_rule(d, c) for d, c in drawn]
    together = compile_rules(compiled)
    syslog = LogSource(product="linux", service="syslog")
    for _ in range(3):
        event = data.draw(events(drawn[data.draw(st.integers(0, len(drawn) - 1))][0]))
        alone = [str(r.id) for r in compiled if compile_rules([r]).match(event)]
        assert [m.rule_id for m in together.match(event, syslog)] == alone


def test_the_literal_index_probes_only_the_fields_an_event_has() -> None:
    # Four rules on four top-level fields and one dotted field: the route indexes them all, an
    # event is probed on the fields it holds; absent, null and list values, and a mapping
    # that is not a dict, give the verdicts of each rule alone.
    from types import MappingProxyType

    compiled = [
        make_rule({"selection": {"Image|endswith": "/nc"}}, rule_id=f"{1:08d}-0000-0000-0000-000000000000"),
        make_rule({"selection": {"CommandLine|contains": " -e "}}, rule_id=f"{2:08d}-0000-0000-0000-000000000000"),
        make_rule({"selection": {"a0": "chmod", "a1": "+s"}}, rule_id=f"{3:08d}-0000-0000-0000-000000000000"),
        make_rule({"selection": {"process.name": "insmod"}}, rule_id=f"{4:08d}-0000-0000-0000-000000000000"),
        make_rule({"selection": {"type": "PATH"}}, rule_id=f"{5:08d}-0000-0000-0000-000000000000"),
    ]  # fmt: skip
    together = compile_rules(compiled)
    linux = LogSource(product="linux", service="syslog")
    samples: list[Any] = [
        {"Image": "/usr/bin/nc", "CommandLine": "nc -e /bin/sh"},
        {"Image": None, "CommandLine": ["ls", "x -E y"]},
        {"a0": "CHMOD", "a1": "+s", "type": "EXECVE"},
        {"process": {"name": "insmod"}, "type": "path"},
        {"process.name": "INSMOD"},
        MappingProxyType({"Image": "/bin/NC", "a0": "chmod"}),
        {},
    ]
    for event in samples:
        alone = [str(r.id) for r in compiled if compile_rules([r]).match(event)]
        assert [m.rule_id for m in together.match(event, linux)] == alone, event
    assert [m.rule_id[:8] for m in together.match(samples[0], linux)] == ["00000001", "00000002"]
