"""Compile a processed Sigma rule collection into a matcher: rules → pipeline → closures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

from taintsigma.errors import ErrorPolicy, RuleCompileError, TaintSigmaError
from taintsigma.evaluate.compiled import (
    LogSource,
    Match,
    RuleHeader,
    RuleMatcher,
    build_rule,
    level_name,
)
from taintsigma.evaluate.plan import header_of, placeholder_values, plan_rule
from taintsigma.evaluate.values import CompileContext
from taintsigma.rules.batch import clone
from taintsigma.rules.loader import LoadedRules, rule_id, rule_path
from taintsigma.rules.modifiers import register_modifiers

register_modifiers()  # Sigma v2.1 modifiers pySigma lacks, for rules parsed by the caller

REGEX_ENGINES = ("re2", "re")
KEYWORD_FIELD_VAR = "taintsigma_keyword_field"

__all__ = [
    "KEYWORD_FIELD_VAR",
    "REGEX_ENGINES",
    "LogSource",
    "Match",
    "RuleHeader",
    "RuleMatcher",
    "collect_or_raise",
    "compile_rule",
    "is_correlation",
    "iter_rules",
    "level_name",
]


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
        ctx = CompileContext(
            rule_id=ident,
            regex_engine=regex_engine,
            placeholders=placeholder_values(vars_, placeholders),
            keyword_fields=_keyword_fields(rule, vars_),
        )
        plan = plan_rule(rule, processed, ctx)
        return build_rule(header_of(rule), plan, ctx, rule=rule, processed=processed)
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
