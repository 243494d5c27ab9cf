"""Rules compiled for scanning: one matcher per event schema, and the raw-line prefilter plan.

Linux adapters yield ECS documents, matched by rules compiled after the
``taintsigma_ecs_syslog`` pipeline; ``--format json`` events carry the rules' own field names
and are matched by rules compiled without a pipeline, every rule being tried.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taintsigma.adapters.base import Adapter
from taintsigma.adapters.event import LINUX_SYSLOG, Event, LogSourceKey
from taintsigma.alerts import RuleInfo, rule_info
from taintsigma.errors import ErrorPolicy, TaintSigmaError

# Characters a JSON encoder may escape (Go's escapes <, > and & by default, some escape /):
# in JSON inputs a literal is cut at them and its longest remaining piece is searched.
_JSON_UNSAFE = re.compile(r"[/<>&'\"\\]")
# The log sources each adapter's events can have (None: no log source, every rule is tried).
ADAPTER_LOGSOURCES: dict[str, tuple[LogSourceKey | None, ...]] = {
    "syslog": (LINUX_SYSLOG,),
    "journald": (LINUX_SYSLOG,),
    "dmesg": (LINUX_SYSLOG,),
    "ecs": (LINUX_SYSLOG, None),
    "json": (None,),
}


@dataclass(frozen=True)
class Plan:
    """How to prefilter one adapter's raw lines: lower-case literals and RE2 patterns of which
    a line must hold one to be parsed for every rule; ``free`` matches the rules that need no
    literal, so with it every line is parsed (the others only count)."""

    literals: list[bytes]
    patterns: list[bytes]
    free: Any = None


class RuleSetView:
    """The rules compiled for one schema, ready to match events of one adapter.

    ``matcher`` is the evaluator's RuleSetMatcher over every rule.
    """

    def __init__(self, matcher: Any, schema: str) -> None:
        self.matcher = matcher
        self.schema = schema
        self._infos: dict[str, RuleInfo] = {}
        self._sources: dict[LogSourceKey | None, Any] = {}
        self._plans: dict[str, Plan | None] = {}

    def _source(self, logsource: LogSourceKey | None) -> Any:
        if logsource in self._sources:
            return self._sources[logsource]
        from taintsigma.evaluate.compile import LogSource

        value = None
        if logsource is not None and self.schema != "plain":
            value = LogSource(
                category=logsource.category, product=logsource.product, service=logsource.service
            )
        self._sources[logsource] = value
        return value

    def match(
        self, event: Event, candidate: bool = True, plan: Plan | None = None
    ) -> list[RuleInfo]:
        """The rules matching ``event`` that make alerts; a line the prefilter did not hit
        (``candidate`` False) tries only the plan's literal-free rules."""
        return [self.info(m.rule) for m in self.matches(event, candidate, plan) if m.output]

    def matches(self, event: Event, candidate: bool = True, plan: Plan | None = None) -> list[Any]:
        """The evaluator's Match objects for ``event`` (``generate: false`` rules included)."""
        matcher = self.matcher if candidate else (plan.free if plan is not None else None)
        if matcher is None:
            return []
        return matcher.match(event.fields, self._source(event.logsource))

    def info(self, rule: Any) -> RuleInfo:
        """The alert's view of a rule (cached per rule id)."""
        key = str(rule.id) if rule.id is not None else rule.title
        found = self._infos.get(key)
        if found is None:
            found = self._infos[key] = rule_info(rule)
        return found

    def correlations(self) -> Any:
        """A fresh correlation engine for one input, or None when there is no correlation rule."""
        return self.matcher.correlations if self.matcher.correlation_rules else None

    def prefilter_plan(self, adapter: Adapter) -> Plan | None:
        """What to search raw lines of this adapter for; None when no line can be skipped."""
        if adapter.name not in self._plans:
            self._plans[adapter.name] = self._plan(adapter)
        return self._plans[adapter.name]

    def _plan(self, adapter: Adapter) -> Plan | None:
        from taintsigma.evaluate.prefilter import build_prefilter
        from taintsigma.evaluate.ruleset import RuleSetMatcher

        relevant: dict[str, Any] = {}
        for logsource in ADAPTER_LOGSOURCES.get(adapter.name, (None,)):
            source = self._source(logsource)
            for rule in self.matcher.rules:
                if source is None or source.admits(rule.rule):
                    relevant[rule.rule_id] = rule
        if not relevant:
            return Plan(literals=[], patterns=[], free=None)  # no rule applies: only count
        prefilter = build_prefilter(relevant.values(), fields=adapter.raw_fields)
        if prefilter is None:
            return None
        literals: set[bytes] = set()
        always = set(prefilter.always)
        for rule_id, rule_literals in prefilter.by_rule.items():
            pieces = [_raw_piece(lit, adapter.json_escaped) for lit in rule_literals]
            if not all(pieces):
                always.add(rule_id)
                continue
            literals.update(piece.encode() for piece in pieces)
        if not literals:
            return None
        free = [relevant[rule_id] for rule_id in relevant if rule_id in always]
        return Plan(
            literals=sorted(literals),
            patterns=[adapter.always_parse] if adapter.always_parse else [],
            free=RuleSetMatcher(rules=free) if free else None,
        )


def _raw_piece(literal: str, json_escaped: bool) -> str:
    if not json_escaped:
        return literal
    return max(_JSON_UNSAFE.split(literal), key=len, default="")


@dataclass
class CompiledRules:
    """Loaded rules, compiled lazily per schema (``ecs`` after the ECS pipeline, ``plain``)."""

    loaded: Any
    errors: list[TaintSigmaError] = field(default_factory=list)
    _views: dict[str, RuleSetView] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(list(self.loaded))

    def for_format(self, name: str) -> RuleSetView:
        """The rules compiled for the events of adapter ``name``."""
        schema = "plain" if name == "json" else "ecs"
        if schema not in self._views:
            self._views[schema] = self._compile(schema)
        return self._views[schema]

    def _compile(self, schema: str) -> RuleSetView:
        from taintsigma.evaluate import compile_rules
        from taintsigma.pipelines import taintsigma_ecs_syslog

        pipeline = taintsigma_ecs_syslog() if schema == "ecs" else None
        matcher = compile_rules(list(self.loaded), pipeline, on_error=ErrorPolicy.COLLECT)
        known = {e.rule_id for e in self.errors}
        self.errors.extend(err for rid, err in matcher.errors if rid not in known)
        return RuleSetView(matcher, schema)


def compile_for_scan(rules: Any = None, *, errors: Iterable[TaintSigmaError] = ()) -> CompiledRules:
    """Prepare rules for scanning: None (bundled), paths, or what load_rules returns.

    Compilation happens on first use, per event schema; ``errors`` are load errors to report
    with the compile errors.
    """
    from taintsigma.rules import LoadedRules, load_rules

    if rules is None or (
        isinstance(rules, Iterable)
        and not isinstance(rules, LoadedRules)
        and all(isinstance(r, str | Path) for r in rules)
    ):
        loaded = load_rules(rules, on_error=ErrorPolicy.COLLECT)
        return CompiledRules(loaded=loaded, errors=list(loaded.errors))
    return CompiledRules(loaded=rules, errors=list(errors))
