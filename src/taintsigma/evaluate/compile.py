"""Compile a processed Sigma rule collection into a matcher: rules → pipeline → closures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

from taintsigma.errors import ErrorPolicy, RuleCompileError, TaintSigmaError
from taintsigma.evaluate.matchers import Compiled, Node, combine, compile_condition
from taintsigma.evaluate.values import CompileContext
from taintsigma.rules.batch import clone
from taintsigma.rules.loader import LoadedRules, rule_id, rule_path

REGEX_ENGINES = ("re2", "re")
KEYWORD_FIELD_VAR = "taintsigma_keyword_field"


@dataclass(frozen=True)
class LogSource:
    """The log source of an event, in Sigma's terms; None parts are unknown.

    A rule is tried on an event only if every part the rule's ``logsource`` names equals the
    event's (case-insensitive): a ``product: linux`` rule runs on
    ``LogSource(product="linux", service="syslog")`` events, a ``service: auditd`` one does not.
    """

    category: str | None = None
    product: str | None = None
    service: str | None = None

    def admits(self, rule: SigmaRule) -> bool:
        """True when ``rule``'s log source is compatible with this event log source."""
        for part in ("category", "product", "service"):
            wanted = getattr(rule.logsource, part)
            if wanted is not None:
                mine = getattr(self, part)
                if mine is None or mine.lower() != str(wanted).lower():
                    return False
        return True


@dataclass(frozen=True)
class Match:
    """One rule matching one event.

    ``matched`` names the rule's detections (identifiers of its ``detection`` section) that
    matched the event; ``output`` is False for a rule that only feeds a correlation rule
    (``generate: false``), whose own matches are not alerts.
    """

    rule_id: str
    title: str
    level: str | None
    tags: list[str]
    rule: SigmaRule = field(compare=False, repr=False)
    matched: tuple[str, ...] = ()
    output: bool = True


@dataclass
class RuleMatcher:
    """One compiled rule: its closure, its detections' closures and its metadata."""

    rule: SigmaRule
    processed: SigmaRule
    rule_id: str
    node: Node
    detections: dict[str, Node]
    keyword_fields: tuple[str, ...] | None
    added_detections: frozenset[str]
    ctx: CompileContext = field(repr=False)

    def matches(self, event: Mapping[str, Any]) -> bool:
        """True when the rule matches ``event``."""
        return self.node(event, {})

    def to_match(self, event: Mapping[str, Any], memo: dict) -> Match:
        matched = tuple(
            name
            for name, node in self.detections.items()
            if not name.startswith("_") and node(event, memo)
        )
        rule = self.rule
        return Match(
            rule_id=self.rule_id,
            title=rule.title,
            level=level_name(rule),
            tags=[str(tag) for tag in rule.tags],
            rule=rule,
            matched=matched,
            output=rule._output,
        )


def level_name(rule: Any) -> str | None:
    """A rule's ``level`` as lower-case text (``"high"``), None when it has none."""
    level = getattr(rule, "level", None)
    return level.name.lower() if level is not None else None


def iter_rules(rules: LoadedRules | SigmaCollection | Iterable[Any]) -> list[Any]:
    """The rules of a LoadedRules, a SigmaCollection or any iterable of pySigma rules."""
    if isinstance(rules, LoadedRules):
        return list(rules.collection.rules)
    if isinstance(rules, SigmaCollection):
        return list(rules.rules)
    return list(rules)


def compile_rule(
    rule: SigmaRule,
    pipeline: ProcessingPipeline | None = None,
    *,
    placeholders: Mapping[str, list[str]] | None = None,
    regex_engine: str = "re2",
) -> RuleMatcher:
    """Compile one rule (after ``pipeline``) into a RuleMatcher; raises RuleCompileError.

    >>> from taintsigma import load_rules
    >>> matcher = compile_rule(load_rules().collection.rules[0])
    >>> matcher.matches({"program": "kernel", "message": "x: module verification failed: "
    ...     "signature and/or required key missing - tainting kernel"})
    True
    """
    if regex_engine not in REGEX_ENGINES:
        raise RuleCompileError(f"unknown regex engine {regex_engine!r}; use 're2' or 're'")
    ident = rule_id(rule)
    try:
        processed = clone(rule)
        if pipeline is not None:
            pipeline.apply(processed)
        vars_ = dict(pipeline.vars) if pipeline is not None else {}
        values = {
            k: (v if isinstance(v, list) else [v])
            for k, v in vars_.items()
            if isinstance(v, (list, str, int, float))
        }
        values.update(placeholders or {})
        ctx = CompileContext(
            rule_id=ident,
            regex_engine=regex_engine,
            placeholders=values,
            keyword_fields=_keyword_fields(rule, vars_),
        )
        detections = processed.detection.detections
        added = frozenset(detections) - frozenset(rule.detection.detections)
        compiled_detections: dict[str, Compiled | None] = {}
        trees = []
        for condition in processed.detection.parsed_condition:
            parsed = condition.parse(postprocess=False)
            top = _compile_top(parsed, processed, ctx, compiled_detections, added)
            if top is not None:
                trees.append(top)
        if not trees:
            raise ctx.error("the condition selects no detection")
        node = combine(False, trees).node
    except TaintSigmaError as err:
        err.rule_id = err.rule_id or ident
        err.path = err.path or rule_path(rule)
        raise
    except SigmaError as err:
        message = ValueError.__str__(err).strip() or type(err).__name__
        raise RuleCompileError(
            f"rule {ident}: {message}", rule_id=ident, path=rule_path(rule)
        ) from err
    except RecursionError as err:
        raise RuleCompileError(
            f"rule {ident}: cannot compile: the detection or condition is nested too deeply",
            rule_id=ident,
            path=rule_path(rule),
        ) from err
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        raise RuleCompileError(
            f"rule {ident}: cannot compile: {type(err).__name__}: {err}",
            rule_id=ident,
            path=rule_path(rule),
        ) from err
    return RuleMatcher(
        rule=rule,
        processed=processed,
        rule_id=ident,
        node=node,
        detections={k: v.node for k, v in compiled_detections.items() if v is not None},
        keyword_fields=ctx.keyword_fields,
        added_detections=added,
        ctx=ctx,
    )


def _keyword_fields(rule: SigmaRule, vars_: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Where keywords search: ``message`` for Linux log-line rules, else every value.

    Linux log-line rules are ``linux/syslog`` and ``product: linux`` with no service or
    category (SigmaHQ's keyword rules for /var/log lines): the taxonomy's keyword field is
    ``message``. A pipeline may name another with its ``taintsigma_keyword_field`` variable,
    or ``*`` for every value (events in Sigma's own names: audit records, Sysmon events).
    """
    source = rule.logsource
    service = (source.service or "").lower()
    if (
        (source.product or "").lower() == "linux"
        and source.category is None
        and service in ("", "syslog")
    ):
        named = vars_.get(KEYWORD_FIELD_VAR, "message")
        if named == "*":
            return None  # the events' schema has no message field: search every value
        return tuple(named) if isinstance(named, list) else (str(named),)
    return None


def _compile_top(
    tree: Any,
    rule: SigmaRule,
    ctx: CompileContext,
    cache: dict[str, Compiled | None],
    added: frozenset[str],
) -> Compiled | None:
    """Compile the condition's own tree (identifiers, selectors, and/or/not) over detections.

    Mirrors pySigma's postprocessing: a selector naming no detection, or a detection left
    empty by the pipeline, drops out of its parent.
    """
    if isinstance(tree, ConditionIdentifier):
        return _compile_detection(tree.identifier, rule, ctx, cache)
    if isinstance(tree, ConditionSelector):
        names = [i.identifier for i in tree.resolve_referenced_detections(rule.detection)]
        parts = [(n, _compile_detection(n, rule, ctx, cache)) for n in names]
        return _combine_ordered(tree.cond_class is ConditionAND, parts, added)
    if isinstance(tree, ConditionNOT):
        operand = _compile_top(tree.args[0], rule, ctx, cache, added)
        if operand is None:
            return None
        inner = operand.node
        return Compiled(lambda event, memo: not inner(event, memo), operand.cost)
    if isinstance(tree, (ConditionAND, ConditionOR)):
        parts = [(_top_name(arg), _compile_top(arg, rule, ctx, cache, added)) for arg in tree.args]
        return _combine_ordered(isinstance(tree, ConditionAND), parts, added)
    raise ctx.error(f"condition element {type(tree).__name__} is not supported")


def _top_name(tree: Any) -> str:
    return tree.identifier if isinstance(tree, ConditionIdentifier) else ""


def _combine_ordered(
    conjunction: bool, parts: list[tuple[str, Compiled | None]], added: frozenset[str]
) -> Compiled | None:
    # Conditions a pipeline adds (host.os.type, event.dataset) hold for every routed event:
    # they run last, after the rule's own, more selective detections.
    kept = [(name in added, c.cost, i, c) for i, (name, c) in enumerate(parts) if c is not None]
    if not kept:
        return None
    return combine(conjunction, [c for *_, c in sorted(kept, key=lambda k: k[:3])])


def _compile_detection(
    name: str, rule: SigmaRule, ctx: CompileContext, cache: dict[str, Compiled | None]
) -> Compiled | None:
    if name not in cache:
        detections = rule.detection
        if name not in detections.detections:
            raise ctx.error(f"condition names detection {name!r}, which is not defined")
        tree = detections.detections[name].postprocess(detections, None, rule.source)
        cache[name] = compile_condition(tree, ctx) if tree is not None else None
    return cache[name]


def is_correlation(rule: Any) -> bool:
    return isinstance(rule, SigmaCorrelationRule)


def collect_or_raise(
    policy: ErrorPolicy, errors: list[tuple[str, RuleCompileError]], ident: str, err: Exception
) -> None:
    """Apply an ErrorPolicy to a per-rule error (always a RuleCompileError naming the rule)."""
    if not isinstance(err, RuleCompileError):
        wrapped = RuleCompileError(f"rule {ident}: {err}", rule_id=ident)
        wrapped.__cause__ = err
        err = wrapped
    if policy is ErrorPolicy.RAISE:
        raise err
    errors.append((ident, err))
