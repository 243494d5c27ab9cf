"""Native verdicts equal real engines' on every sample event: Elastic's eql engine and SQLite.

Each rule is converted by pySigma's stock EqlBackend and sqliteBackend; the query runs in the
eql Python engine and in SQLite (columns COLLATE NOCASE). Where a backend cannot express a
rule the case is skipped with the backend's reason; where an engine is known to differ from
Sigma's semantics (docs/evaluator.md, "Known differences of the reference engines") the
excluded events are named here with that reason. Every other verdict must be equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from differential import (
    Unsupported,
    eql_query,
    eql_verdict,
    require,
    sqlite_query,
    sqlite_verdict,
)
from helpers import make_rule
from sigma.conditions import ConditionIdentifier, ConditionNOT, ConditionSelector
from sigma.modifiers import SigmaNegateModifier
from sigma.rule import SigmaRule
from test_evaluate_conditions import CONDITIONS, DETECTIONS
from test_evaluate_modifiers import CASES

import taintsigma
from taintsigma.convert.pipelines import taintsigma_ecs_syslog
from taintsigma.evaluate import LogSource, compile_rules

TAINT = "module verification failed: signature and/or required key missing - tainting kernel"


def ecs(program: str, message: str, dataset: str = "system.syslog") -> dict[str, Any]:
    return {
        "host": {"os": {"type": "linux"}, "hostname": "web1"},
        "event": {"dataset": dataset},
        "process": {"name": program},
        "message": message,
    }


FLAGSHIP_EVENTS = [
    ecs("kernel", f"evil: {TAINT}"),
    ecs("kernel", f"[   12.3] rootkit: {TAINT.upper()}"),
    ecs("KERNEL", TAINT),
    ecs("kernel", "module verification succeeded"),
    ecs("sshd", TAINT),
    ecs("kernel", TAINT, dataset="system.auth"),
    {"process": {"name": "kernel"}, "message": TAINT},
]


class Case:
    """A rule, its sample events, and how to compile and convert it."""

    def __init__(
        self,
        case_id: str,
        rule: SigmaRule,
        events: list[dict[str, Any]],
        *,
        pipeline: Callable[[], Any] | None = None,
        placeholders: dict[str, list[str]] | None = None,
        logsource: LogSource | None = None,
    ) -> None:
        self.id, self.rule, self.events = case_id, rule, events
        self.pipeline, self.placeholders, self.logsource = pipeline, placeholders, logsource


def _cases() -> list[Case]:
    cases = [
        Case(cid, make_rule({"selection": det}), pos + neg, placeholders=opt.get("placeholders"))
        for cid, det, pos, neg, opt in CASES
    ]
    cases += [
        Case(f"condition {c}", make_rule(DETECTIONS, c), pos + neg) for c, pos, neg in CONDITIONS
    ]
    flagship = taintsigma.load_rules().collection.rules[0]
    cases.append(
        Case(
            "flagship-ecs",
            flagship,
            FLAGSHIP_EVENTS,
            pipeline=taintsigma_ecs_syslog,
            logsource=LogSource(product="linux", service="syslog"),
        )
    )
    cases.append(
        Case(
            "flagship-taxonomy",
            flagship,
            [
                {"program": "kernel", "message": f"x {TAINT}"},
                {"program": "kernel", "message": "x"},
                {"program": "cron", "message": TAINT},
            ],
        )
    )
    return cases


CASES_ALL = _cases()

# (engine, case id) -> reason: the engine or its backend differs from Sigma on every event.
KNOWN_CASES: dict[tuple[str, str], str] = {
    ("eql", "cased"): "eql engine: '==' ignores case",
    ("eql", "wildcard-question"): "eql engine: ':' knows only the '*' wildcard",
    ("eql", "bool"): "eql engine: ':' rejects a boolean",
    ("eql", "re"): "eql engine: 'regex' ignores case (Elasticsearch's is case-sensitive)",
    ("sqlite", "week"): "sqliteBackend: strftime('%W') counts weeks from Monday 0, not ISO weeks",
}


def _items(detection: Any) -> list[Any]:
    found = []
    for item in detection.detection_items:
        found += _items(item) if hasattr(item, "detection_items") else [item]
    return found


def _negated_fields(case: Case) -> set[str]:
    """Fields the rule tests under a negation: in a detection under ``not``, or with ``neq``."""
    detection = case.rule.detection
    fields = {
        i.field
        for d in detection.detections.values()
        for i in _items(d)
        if i.field and any(m is SigmaNegateModifier for m in i.modifiers)
    }

    def walk(node: Any, negated: bool) -> None:
        if isinstance(node, ConditionIdentifier):
            names = [node.identifier]
        elif isinstance(node, ConditionSelector):
            names = [i.identifier for i in node.resolve_referenced_detections(detection)]
        else:
            for arg in node.args:
                walk(arg, negated or isinstance(node, ConditionNOT))
            return
        if negated:
            fields.update(
                i.field for n in names for i in _items(detection.detections[n]) if i.field
            )

    for condition in detection.parsed_condition:
        walk(condition.parse(postprocess=False), False)
    return fields


# (engine, event) -> reason, for differences that depend on the event.
def _known_event(engine: str, case: Case, event: dict[str, Any]) -> str | None:
    flat_values = [v for v in event.values() if not isinstance(v, dict)]
    if engine == "eql" and not _negated_fields(case) <= set(event):
        return "eql engine: a missing field is null, and 'not (null : x)' is not true"
    if (
        engine == "eql"
        and case.id in {"lt", "lte", "gt", "gte", "number"}
        and any(isinstance(v, str) for v in flat_values)
    ):
        return "eql engine: compares numeric text as text, not as a number"
    if (
        engine == "eql"
        and case.id == "cidr"
        and any(
            isinstance(v, list) or (isinstance(v, str) and not v[:1].isdigit() and ":" not in v)
            for v in flat_values
        )
    ):
        return "eql engine: cidrMatch raises on a non-address and ignores lists"
    if engine == "sqlite" and any(isinstance(v, list) for v in flat_values):
        return "sqlite: a row holds no lists"
    if (
        engine == "sqlite"
        and case.id == "bool"
        and any(v == 1 and v is not True for v in flat_values)
    ):
        return "sqliteBackend: 'true' also matches the number 1"
    if (
        engine == "sqlite"
        and case.id in {"hour", "year"}
        and any(isinstance(v, int) for v in flat_values)
    ):
        return "SQLite: strftime reads a number as a Julian day, not epoch seconds"
    return None


ENGINES: dict[str, tuple[Callable[..., str], Callable[[str, dict], bool]]] = {
    "eql": (eql_query, eql_verdict),
    "sqlite": (sqlite_query, sqlite_verdict),
}


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("case", CASES_ALL, ids=[c.id for c in CASES_ALL])
def test_native_verdicts_equal_the_engine(case: Case, engine: str) -> None:
    known = KNOWN_CASES.get((engine, case.id))
    if known:
        pytest.skip(f"documented difference: {known}")
    require(engine)
    to_query, verdict = ENGINES[engine]
    pipeline = case.pipeline() if case.pipeline else None
    try:
        query = to_query(case.rule, pipeline, case.placeholders)
    except Unsupported as err:
        pytest.skip(f"backend cannot express the rule: {err}")
    native = compile_rules(
        [case.rule], case.pipeline() if case.pipeline else None, placeholders=case.placeholders
    )
    compared = 0
    for event in case.events:
        if _known_event(engine, case, event):
            continue
        expected = bool(native.match(event, case.logsource))
        assert verdict(query, event) is expected, f"{engine} disagrees on {event!r} for {query}"
        compared += 1
    if not compared:
        pytest.skip("every sample event is a documented difference of this engine")


def _sample_files() -> list[tuple[str, Any, Any, bool]]:
    """(id, rule, events file, expected) for every sample event file of the bundled rules."""
    from taintsigma.resources import bundled_rules_dir
    from taintsigma.rules.loader import load_rule_file

    found = []
    for rule_file in sorted(bundled_rules_dir().glob("*.yml")):
        folder = rule_file.with_suffix(".events")
        (rule,) = load_rule_file(rule_file).rules
        for kind in ("positive", "negative"):
            for events in sorted((folder / kind).glob("*")):
                found.append(
                    (f"{rule_file.stem}-{kind}-{events.name}", rule, events, kind == "positive")
                )
    return found


SAMPLES = _sample_files()


@pytest.mark.parametrize("engine", ["native", *sorted(ENGINES)])
@pytest.mark.parametrize(
    ("rule", "events", "positive"), [s[1:] for s in SAMPLES], ids=[s[0] for s in SAMPLES]
)
def test_sample_events_of_bundled_rules(
    rule: SigmaRule, events: Any, positive: bool, engine: str
) -> None:
    """Each rule's own sample logs, parsed by the scan adapters: the native verdict is the
    folder's (positive or negative) and every engine agrees with it."""
    from taintsigma.scan.run import read_events

    native = compile_rules([rule], taintsigma_ecs_syslog())
    parsed = [e for e in read_events(events) if hasattr(e, "fields")]
    assert parsed, f"no event in {events}"
    for event in parsed:
        source = event.logsource
        logsource = LogSource(product=source.product, service=source.service) if source else None
        assert bool(native.match(event.fields, logsource)) is positive, event.fields
    if engine == "native":
        return
    require(engine)
    to_query, verdict = ENGINES[engine]
    query = to_query(rule, taintsigma_ecs_syslog())
    for event in parsed:
        assert verdict(query, event.fields) is positive, f"{engine}: {query} on {event.fields}"
