"""Rules compiled for scanning: one matcher per event schema, and the raw-line prefilter plan.

Linux adapters yield ECS documents, matched by rules compiled after the
``taintsigma_ecs_syslog`` pipeline; ``--format json`` events carry the rules' own field names
and are matched by rules compiled without a pipeline, every rule being tried.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taintsigma.errors import ErrorPolicy, TaintSigmaError
from taintsigma.logs.base import Adapter
from taintsigma.logs.event import LINUX_SYSLOG, Event, LogSourceKey
from taintsigma.scan.alerts import RuleInfo, rule_info

# Characters of the values an adapter derives rather than copies (time stamps, offsets,
# pids, uptimes, codes), lower-cased: a keyword made only of them may match those.
_DERIVED = frozenset("0123456789:.+-tz ")
# Services whose logs are syslog lines; Linux adapters' events are tried by the rules of these
# and of none (auditd writes its own format, categories need other telemetry).
_NOT_SYSLOG_SERVICES = frozenset({"auditd"})


def syslog_borne(rule: Any) -> bool:
    """True for rules that apply to Linux log lines: ``product: linux`` (or none), no
    category, any service but auditd (SigmaHQ's sshd, cron, vsftpd, clamav, guacamole …)."""
    source = rule.logsource
    product = (source.product or "linux").lower()
    service = (source.service or "").lower()
    return product == "linux" and source.category is None and service not in _NOT_SYSLOG_SERVICES


@dataclass(frozen=True)
class Plan:
    """How to prefilter one adapter's raw lines: lower-case literals and RE2 patterns of which
    a line must hold one to be parsed for every rule; ``free`` matches the rules that need no
    literal, so with it every line is parsed (the others only count). ``anywhere`` holds the
    keyword literals that may match any value: a file whose path holds one is parsed whole."""

    literals: list[bytes]
    patterns: list[bytes]
    free: Any = None
    anywhere: frozenset[str] = frozenset()

    def usable_for(self, path: str) -> bool:
        """False when a keyword literal is in the path (``log.file.path`` would match it)."""
        lowered = path.lower()
        return not any(literal in lowered for literal in self.anywhere)


class RuleSetView:
    """The rules compiled for one schema, ready to match events of one adapter.

    ``matcher`` is the evaluator's RuleSetMatcher over every rule; ``linux`` the one over the
    rules that apply to Linux log lines (:func:`syslog_borne`), which events of the Linux
    adapters are matched against, every one of them being tried (as Elastic runs any rule on
    the index it is given).
    """

    def __init__(self, matcher: Any, schema: str) -> None:
        from taintsigma.evaluate.ruleset import RuleSetMatcher

        self.matcher = matcher
        self.schema = schema
        self.linux = RuleSetMatcher(rules=[r for r in matcher.rules if syslog_borne(r.rule)])
        self._linux_ids = frozenset(r.rule_id for r in self.linux.rules)
        self._infos: dict[int, RuleInfo] = {}
        self._plans: dict[str, Plan | None] = {}

    def _matcher_for(self, logsource: LogSourceKey | None) -> Any:
        if self.schema != "plain" and logsource == LINUX_SYSLOG:
            return self.linux
        return self.matcher

    def match(
        self, event: Event, candidate: bool = True, plan: Plan | None = None
    ) -> list[RuleInfo]:
        """The rules matching ``event`` that make alerts; a line the prefilter did not hit
        (``candidate`` False) tries only the plan's literal-free rules."""
        return [self.info(m.rule) for m in self.matches(event, candidate, plan) if m.output]

    def matches(self, event: Event, candidate: bool = True, plan: Plan | None = None) -> list[Any]:
        """The evaluator's Match objects for ``event`` (``generate: false`` rules included)."""
        if candidate:
            matcher = self._matcher_for(event.logsource)
        else:
            matcher = plan.free if plan is not None else None
        if matcher is None:
            return []
        found = matcher.match(event.fields, None)
        if not candidate and self.schema != "plain" and event.logsource == LINUX_SYSLOG:
            # A literal-free rule outside the Linux set (from an ECS input) must not see
            # events routed to that set.
            found = [m for m in found if m.rule_id in self._linux_ids]
        return found

    def info(self, rule: Any) -> RuleInfo:
        """The alert's view of a rule (cached per rule: two rules may share an id)."""
        key = id(rule)
        found = self._infos.get(key)
        if found is None:
            found = self._infos[key] = rule_info(rule)
        return found

    def correlations(self) -> Any:
        """A fresh correlation engine for one input, or None when there is no correlation rule."""
        if not self.matcher.correlation_rules:
            return None
        return self.matcher.new_correlation_engine()

    def prefilter_plan(self, adapter: Adapter) -> Plan | None:
        """What to search raw lines of this adapter for; None when no line can be skipped."""
        if adapter.name not in self._plans:
            self._plans[adapter.name] = self._plan(adapter)
        return self._plans[adapter.name]

    def _plan(self, adapter: Adapter) -> Plan | None:
        from taintsigma.evaluate.prefilter import ANYWHERE, rule_requirement
        from taintsigma.evaluate.ruleset import RuleSetMatcher

        if adapter.logsource == LINUX_SYSLOG and self.schema != "plain":
            relevant = list(self.linux.rules)
        else:
            relevant = list(self.matcher.rules)
        if not relevant:
            return Plan(literals=[], patterns=[], free=None)  # no rule applies: only count
        literals: set[str] = set()
        anywhere: set[str] = set()
        free = []
        for rule in relevant:
            pieces = _rule_literals(rule_requirement(rule), adapter, ANYWHERE)
            if pieces is None:
                free.append(rule)
                continue
            literals.update(piece for piece, _ in pieces)
            anywhere.update(piece for piece, everywhere in pieces if everywhere)
        if not literals:
            return None
        return Plan(
            literals=sorted(lit.encode() for lit in literals),
            patterns=[adapter.always_parse] if adapter.always_parse else [],
            free=RuleSetMatcher(rules=free) if free else None,
            anywhere=frozenset(anywhere) if adapter.adds_path else frozenset(),
        )


def _rule_literals(
    need: frozenset[tuple[str, str]] | None, adapter: Adapter, anywhere: str
) -> list[tuple[str, bool]] | None:
    """The raw-line pieces of a rule's necessary literals (and whether each is a keyword
    searching every value), or None when one of them cannot be searched in raw lines."""
    from taintsigma.evaluate.prefilter import raw_piece

    if not need:
        return None
    pieces: list[tuple[str, bool]] = []
    for field_name, literal in need:
        everywhere = field_name == anywhere
        if not everywhere and field_name not in adapter.raw_fields:
            return None
        piece = raw_piece(literal, adapter.json_escaped)
        if not piece:
            return None
        # A keyword may match a value the adapter adds: refuse literals that could sit in one
        # (a constant, or a number or time stamp it derives).
        if everywhere and (
            set(piece) <= _DERIVED or any(piece in c.lower() for c in adapter.constants)
        ):
            return None
        pieces.append((piece, everywhere))
    return pieces


@dataclass
class CompiledRules:
    """Loaded rules, compiled lazily per schema (``ecs`` after the ECS pipeline, ``plain``)."""

    loaded: Any
    errors: list[TaintSigmaError] = field(default_factory=list)
    regex_engine: str = "re2"
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
        from taintsigma.convert.pipelines import taintsigma_ecs_syslog
        from taintsigma.evaluate import compile_rules

        pipeline = taintsigma_ecs_syslog() if schema == "ecs" else None
        matcher = compile_rules(
            list(self.loaded),
            pipeline,
            on_error=ErrorPolicy.COLLECT,
            regex_engine=self.regex_engine,
        )
        known = {e.rule_id for e in self.errors}
        self.errors.extend(err for rid, err in matcher.errors if rid not in known)
        return RuleSetView(matcher, schema)


def compile_for_scan(
    rules: Any = None, *, errors: Iterable[TaintSigmaError] = (), regex_engine: str = "re2"
) -> CompiledRules:
    """Prepare rules for scanning: None (bundled), paths, or what load_rules returns.

    Compilation happens on first use, per event schema; ``errors`` are load errors to report
    with the compile errors; ``regex_engine="re"`` runs regexes RE2 refuses.
    """
    from taintsigma.rules.loader import LoadedRules, load_rules

    if isinstance(rules, str | Path):
        rules = [rules]  # one path: never its characters
    if rules is None or (
        isinstance(rules, Iterable)
        and not isinstance(rules, LoadedRules)
        and all(isinstance(r, str | Path) for r in rules)
    ):
        loaded = load_rules(rules, on_error=ErrorPolicy.COLLECT)
        return CompiledRules(loaded=loaded, errors=list(loaded.errors), regex_engine=regex_engine)
    return CompiledRules(loaded=rules, errors=list(errors), regex_engine=regex_engine)
