"""Sigma correlation rules over a time-ordered stream of (event, matches, timestamp)."""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from functools import cached_property
from typing import Any

from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionNOT,
    CorrelationConditionOR,
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

from taintsigma.errors import ErrorPolicy, RuleCompileError
from taintsigma.evaluate.compile import Match, RuleMatcher, collect_or_raise, level_name
from taintsigma.evaluate.fields import MISSING, compile_getter
from taintsigma.evaluate.values import as_datetime, as_number
from taintsigma.rules.loader import rule_id

Op = SigmaCorrelationConditionOperator
_OPS: dict[Op, Callable[[float, float], bool]] = {
    Op.LT: lambda a, b: a < b,
    Op.LTE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GTE: lambda a, b: a >= b,
    Op.EQ: lambda a, b: a == b,
    Op.NEQ: lambda a, b: a != b,
}
# Conditions that, once true, stay true as more events arrive (gt/gte of a count or a sum) are
# decided at each event over the sliding window; the others (lt, eq…, averages, percentiles)
# only when the window closes.
_AT_ARRIVAL = {Op.GT, Op.GTE}
_GROWING = {"event_count", "value_count", "value_sum", "temporal", "temporal_ordered"}
T = SigmaCorrelationType


@dataclass(frozen=True)
class CorrelationAlert:
    """A correlation rule that fired: which rules and events contributed, in which group.

    ``events`` are the contributing events (those of the contributing alerts, for a chained
    correlation); ``group`` maps each ``group-by`` field (alias names as written) to its value;
    ``window`` is the (first, last) timestamp of the contributing events, in epoch seconds.
    ``output`` is False for a correlation that only feeds another one (``generate: false``).
    """

    rule_id: str
    title: str
    level: str | None
    tags: list[str]
    rules: tuple[str, ...]
    events: tuple[Mapping[str, Any], ...] = field(compare=False)
    group: dict[str, Any]
    window: tuple[float, float]
    rule: SigmaCorrelationRule = field(compare=False, repr=False)
    output: bool = True

    @property
    def event_count(self) -> int:
        """How many events contributed."""
        return len(self.events)


@dataclass
class _Hit:
    """One contribution to a correlation: an event (or an alert of a chained rule)."""

    time: float
    source: str  # the referenced rule's reference as written
    rule_id: str
    event: Mapping[str, Any] | CorrelationAlert
    value: Any = None


@dataclass
class _Spec:
    """A correlation rule checked and prepared: references, field readers, condition."""

    rule: SigmaCorrelationRule
    rule_id: str
    refs: list[SigmaRuleReference]
    ref_ids: dict[str, str]  # reference -> rule id (base rule or correlation)
    group_by: list[str]
    readers: dict[tuple[str, str], Callable[[Any], Any]]  # (reference, field) -> reader
    timespan: float
    condition: SigmaCorrelationCondition | SigmaExtendedCorrelationCondition

    @cached_property
    def at_arrival(self) -> bool:
        """True when the condition is decided at each event rather than when a window closes."""
        if isinstance(self.condition, SigmaExtendedCorrelationCondition):
            return not _has_not(self.condition.parsed)
        return self.condition.op in _AT_ARRIVAL and self.rule.type.name.lower() in _GROWING


def _has_not(tree: Any) -> bool:
    if isinstance(tree, CorrelationConditionNOT):
        return True
    return any(_has_not(a) for a in getattr(tree, "args", []))


def check_correlations(
    rules: Sequence[SigmaCorrelationRule],
    base_rules: Sequence[RuleMatcher],
    errors: list[tuple[str, RuleCompileError]],
    on_error: ErrorPolicy,
    pipeline: ProcessingPipeline | None,
) -> list[_Spec]:
    """Prepare correlation rules in dependency order over their compiled ``base_rules``.

    A broken correlation raises, or with ``ErrorPolicy.COLLECT`` is appended to ``errors``.
    """
    compiled = {r.rule_id: r for r in base_rules}
    specs: list[_Spec] = []
    ready: set[str] = set()
    pending = list(rules)
    while pending:
        progress = False
        for corr in list(pending):
            refs = corr.referenced_rules
            if any(
                isinstance(r.rule, SigmaCorrelationRule) and rule_id(r.rule) not in ready
                for r in refs
            ):
                continue
            pending.remove(corr)
            progress = True
            try:
                specs.append(_prepare(corr, compiled, pipeline))
                ready.add(rule_id(corr))
            except RuleCompileError as err:
                collect_or_raise(on_error, errors, rule_id(corr), err)
        if not progress:
            for corr in pending:
                err = RuleCompileError(
                    f"rule {rule_id(corr)}: correlation refers to a correlation that cannot run",
                    rule_id=rule_id(corr),
                )
                collect_or_raise(on_error, errors, rule_id(corr), err)
            break
    return specs


def _prepare(
    corr: SigmaCorrelationRule, compiled: Mapping[str, Any], pipeline: ProcessingPipeline | None
) -> _Spec:
    ident = rule_id(corr)

    def fail(what: str) -> RuleCompileError:
        return RuleCompileError(f"rule {ident}: {what}", rule_id=ident)

    refs = list(corr.referenced_rules)
    if not refs:
        raise fail("correlation refers to no rule")
    if corr.type is T.TEMPORAL_ORDERED and isinstance(
        corr.condition, SigmaExtendedCorrelationCondition
    ):
        raise fail("temporal_ordered with a boolean condition expression is not supported")
    ref_ids: dict[str, str] = {}
    for ref in refs:
        target = ref.rule
        target_id = rule_id(target)
        if isinstance(target, SigmaRule) and target_id not in compiled:
            raise fail(f"correlation refers to rule {target_id}, which did not compile")
        ref_ids[ref.reference] = target_id
    group_by = list(corr.group_by or [])
    needed = list(group_by)
    condition = corr.condition
    value_field = getattr(condition, "fieldref", None)
    if isinstance(value_field, list):
        raise fail("a correlation condition with several fields is not supported")
    if value_field:
        needed.append(value_field)
    readers: dict[tuple[str, str], Callable[[Any], Any]] = {}
    for ref in refs:
        for name in needed:
            actual = name
            alias = corr.aliases.aliases.get(name)
            if alias is not None:
                actual = next(
                    (f for r, f in alias.mapping.items() if r.reference == ref.reference), None
                )
                if actual is None:
                    raise fail(f"alias {name!r} has no field for rule {ref.reference!r}")
            if isinstance(ref.rule, SigmaCorrelationRule):
                readers[(ref.reference, name)] = _group_reader(actual)
            else:
                readers[(ref.reference, name)] = compile_getter(
                    _event_field(actual, ref.rule, pipeline)
                )
    return _Spec(
        rule=corr,
        rule_id=ident,
        refs=refs,
        ref_ids=ref_ids,
        group_by=group_by,
        readers=readers,
        timespan=float(corr.timespan.seconds),
        condition=condition,
    )


def _group_reader(name: str) -> Callable[[Any], Any]:
    """Read a field of a chained correlation's alert: a value of its group."""

    def read(alert: Any) -> Any:
        return alert.group.get(name, MISSING) if isinstance(alert, CorrelationAlert) else MISSING

    return read


def _event_field(name: str, rule: SigmaRule, pipeline: ProcessingPipeline | None) -> str:
    """The event field a correlation's field name becomes under the base rule's pipeline.

    A correlation rule has no log source, so pipeline items conditioned on one never apply to
    it: the mapping the base rule gets is what the events carry.
    """
    if pipeline is None:
        return name
    try:
        probe = SigmaRule.from_dict(
            {
                "title": "field probe",
                "logsource": rule.logsource.to_dict(),
                "detection": {"probe": {f"{name}|exists": True}, "condition": "probe"},
            }
        )
        pipeline.apply(probe)
        item = probe.detection.detections["probe"].detection_items[0]
        while not hasattr(item, "field"):
            item = item.detection_items[0]
        return item.field or name
    except (SigmaError, AttributeError, IndexError, KeyError, TypeError, ValueError):
        return name


def _timestamp(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    moment = as_datetime(value)
    if moment is None:
        raise ValueError(f"not a timestamp: {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class _State:
    """The open window of one correlation rule for one group."""

    __slots__ = ("closes", "hits", "start")

    def __init__(self) -> None:
        self.hits: deque[_Hit] = deque()
        self.start = 0.0
        self.closes = math.inf


class CorrelationEngine:
    """Runs correlation rules over a time-ordered stream; one engine per stream.

    Feed every event with the matches :meth:`RuleSetMatcher.match` returned for it and its
    time (epoch seconds, a datetime or ISO 8601 text); each call returns the alerts that
    fired, and :meth:`flush` those only decidable at the end (``lt``, ``eq``… conditions).

    >>> engine = matcher.correlations  # doctest: +SKIP
    >>> for event, ts in stream:  # doctest: +SKIP
    ...     alerts = engine.feed(event, matcher.match(event), ts)
    """

    def __init__(self, specs: Sequence[_Spec]) -> None:
        self.specs = list(specs)
        self._by_ref: dict[str, list[_Spec]] = {}
        for spec in self.specs:
            for target in set(spec.ref_ids.values()):
                self._by_ref.setdefault(target, []).append(spec)
        self._by_id = {s.rule_id: s for s in self.specs}
        self._states: dict[tuple[str, tuple], _State] = {}
        self._closing: list[tuple[float, int, str, tuple]] = []
        self._counter = 0
        self._now = -math.inf

    @property
    def rule_ids(self) -> list[str]:
        return [s.rule_id for s in self.specs]

    def feed(
        self, event: Mapping[str, Any], matches: Sequence[Match], timestamp: Any
    ) -> list[CorrelationAlert]:
        """Add one event (with its matches) at ``timestamp``; return the alerts that fire."""
        now = _timestamp(timestamp)
        alerts = self._close_until(now)
        self._now = max(self._now, now)
        produced = [(m.rule_id, event) for m in matches]
        queue = list(produced)
        while queue:
            target, payload = queue.pop(0)
            for spec in self._by_ref.get(target, ()):
                for alert in self._add(spec, target, payload, now):
                    alerts.append(alert)
                    queue.append((alert.rule_id, alert))
        return [a for a in alerts if a.output]

    def flush(self) -> list[CorrelationAlert]:
        """Close every open window (end of the stream) and return the alerts that fire."""
        return [a for a in self._close_until(math.inf) if a.output]

    # -- internals --------------------------------------------------------------------------

    def _add(self, spec: _Spec, target: str, payload: Any, now: float) -> list[CorrelationAlert]:
        out: list[CorrelationAlert] = []
        for ref in spec.refs:
            if spec.ref_ids[ref.reference] != target:
                continue
            group = []
            for name in spec.group_by:
                value = spec.readers[(ref.reference, name)](payload)
                if value is MISSING or value is None:
                    break
                group.append(tuple(value) if isinstance(value, list) else value)
            else:
                value = None
                field_name = getattr(spec.condition, "fieldref", None)
                if field_name:
                    value = spec.readers[(ref.reference, field_name)](payload)
                    missing = value is MISSING or value is None
                    if missing and spec.rule.type is not T.EVENT_COUNT:
                        continue
                hit = _Hit(now, ref.reference, target, payload, value)
                out.extend(self._hit(spec, tuple(group), hit))
        return out

    def _hit(self, spec: _Spec, group: tuple, hit: _Hit) -> list[CorrelationAlert]:
        key = (spec.rule_id, group)
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _State()
        if not state.hits:
            state.start = hit.time
        if spec.at_arrival:
            while state.hits and state.hits[0].time < hit.time - spec.timespan:
                state.hits.popleft()
            state.hits.append(hit)
            if _holds(spec, state.hits):
                alert = self._alert(spec, group, state.hits)
                state.hits.clear()
                return [alert]
            return []
        state.hits.append(hit)
        if len(state.hits) == 1:
            state.closes = hit.time + spec.timespan
            self._counter += 1
            heapq.heappush(self._closing, (state.closes, self._counter, spec.rule_id, group))
        return []

    def _close_until(self, now: float) -> list[CorrelationAlert]:
        alerts: list[CorrelationAlert] = []
        specs = self._by_id
        while self._closing and self._closing[0][0] < now:
            closes, _, ident, group = heapq.heappop(self._closing)
            state = self._states.get((ident, group))
            if state is None or state.closes != closes or not state.hits:
                continue
            spec = specs[ident]
            if _holds(spec, state.hits):
                alerts.append(self._alert(spec, group, state.hits))
            state.hits.clear()
            state.closes = math.inf
        return alerts

    def _alert(self, spec: _Spec, group: tuple, hits: Sequence[_Hit]) -> CorrelationAlert:
        rule = spec.rule
        return CorrelationAlert(
            rule_id=spec.rule_id,
            title=rule.title,
            level=level_name(rule),
            tags=[str(t) for t in rule.tags],
            rules=tuple(dict.fromkeys(h.rule_id for h in hits)),
            events=tuple(_events(hits)),
            group=dict(zip(spec.group_by, group)),
            window=(hits[0].time, hits[-1].time),
            rule=rule,
            output=rule._output,
        )


def _holds(spec: _Spec, hits: Sequence[_Hit]) -> bool:
    kind = spec.rule.type
    condition = spec.condition
    if kind in (T.TEMPORAL, T.TEMPORAL_ORDERED):
        seen = {h.source for h in hits}
        if isinstance(condition, SigmaExtendedCorrelationCondition):
            return _eval_extended(condition.parsed, seen)
        if kind is T.TEMPORAL:
            measure: float = len(seen)
        else:
            measure = _ordered_prefix([r.reference for r in spec.refs], hits)
        return _OPS[condition.op](measure, condition.count)
    if kind is T.EVENT_COUNT:
        return _OPS[condition.op](len(hits), condition.count)
    if kind is T.VALUE_COUNT:
        distinct = {
            _hashable(h.value) for h in hits if h.value is not None and h.value is not MISSING
        }
        return _OPS[condition.op](len(distinct), condition.count)
    numbers = [n for h in hits if (n := as_number(h.value)) is not None]
    if not numbers:
        return False
    if kind is T.VALUE_SUM:
        measure = sum(numbers)
    elif kind is T.VALUE_AVG:
        measure = sum(numbers) / len(numbers)
    elif kind in (T.VALUE_PERCENTILE, T.VALUE_MEDIAN):
        rank = 50 if kind is T.VALUE_MEDIAN else condition.percentile
        if rank is None:
            return False
        measure = percentile(numbers, rank)
    else:  # pragma: no cover - every pySigma type is handled above
        return False
    return _OPS[condition.op](measure, condition.count)


def percentile(numbers: Sequence[float], rank: float) -> float:
    """The ``rank``-th percentile by nearest rank: the smallest value with ``rank`` % at or below.

    >>> percentile([1, 2, 3, 100], 90)
    100
    """
    ordered = sorted(numbers)
    position = math.ceil(min(max(rank, 0), 100) / 100 * len(ordered))
    return ordered[max(position, 1) - 1]


def _ordered_prefix(order: list[str], hits: Sequence[_Hit]) -> int:
    """How many of the rules, in the listed order, occurred one after another in the hits."""
    reached = 0
    for hit in hits:
        if reached < len(order) and hit.source == order[reached]:
            reached += 1
    return reached


def _eval_extended(tree: Any, seen: set[str]) -> bool:
    if isinstance(tree, SigmaRuleReference):
        return tree.reference in seen
    if isinstance(tree, CorrelationConditionAND):
        return all(_eval_extended(a, seen) for a in tree.args)
    if isinstance(tree, CorrelationConditionOR):
        return any(_eval_extended(a, seen) for a in tree.args)
    if isinstance(tree, CorrelationConditionNOT):
        return not _eval_extended(tree.args[0], seen)
    return False


def _events(hits: Sequence[_Hit]) -> list[Mapping[str, Any]]:
    """The events behind the hits: a chained correlation's alert gives its own events."""
    found: list[Mapping[str, Any]] = []
    for hit in hits:
        if isinstance(hit.event, CorrelationAlert):
            found.extend(hit.event.events)
        else:
            found.append(hit.event)
    return found


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value
