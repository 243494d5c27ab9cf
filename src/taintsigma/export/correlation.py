"""Sigma correlation rules as SIEM rules: what each target can express, and the shared pieces.

A correlation is exported from the queries of the rules it correlates (each converted alone
for the target) plus its group-by fields mapped by the target's pipeline, so no mapping is
written here. Supported (docs/export.md, "Correlation rules", states each window semantics):

- ``event_count`` and ``value_count`` with ``gt``/``gte``: Kibana threshold rules, Splunk and
  Sentinel scheduled searches that count per fixed time bucket;
- ``temporal_ordered``: a Kibana EQL sequence rule.

Anything else (another type, an ``lt``/``eq`` condition, ``temporal`` in a target without an
unordered sequence) is refused with an ExportError naming the rule and the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sigma.correlations import SigmaCorrelationRule, SigmaCorrelationType

from taintsigma.errors import ExportError
from taintsigma.rules.metadata import Duration, RuleMetadata

COUNTS = ("event_count", "value_count")


@dataclass(frozen=True, kw_only=True)
class CorrelationPlan:
    """What a correlation asks, in the taxonomy's field names."""

    rule: SigmaCorrelationRule
    type: str
    bases: tuple[Any, ...]  # the correlated SigmaRules, as loaded (not processed)
    group_by: tuple[str, ...]
    timespan: Duration
    operator: str
    count: int
    field: str | None  # value_count: the field whose distinct values are counted

    @property
    def at_least(self) -> int:
        """The smallest count that fires (``gt 4`` and ``gte 5`` both give 5)."""
        return self.count + 1 if self.operator == "gt" else self.count


def correlation_plan(rule: Any) -> CorrelationPlan | None:
    """The plan of a correlation rule, or None for a single-event rule."""
    if not isinstance(rule, SigmaCorrelationRule):
        return None
    condition = rule.condition
    operator = getattr(getattr(condition, "op", None), "name", "")
    count = getattr(condition, "count", None)
    return CorrelationPlan(
        rule=rule,
        type=rule.type.name.lower() if isinstance(rule.type, SigmaCorrelationType) else "",
        bases=tuple(reference.rule for reference in rule.rules),
        group_by=tuple(rule.group_by or ()),
        timespan=Duration(seconds=int(rule.timespan.seconds)),
        operator=operator.lower(),
        count=int(count) if count is not None else 0,
        field=getattr(condition, "fieldref", None),
    )


def require_single_events(plan: CorrelationPlan, meta: RuleMetadata, target: str) -> None:
    """Refuse a correlation of correlations: every export counts single-event queries."""
    if any(isinstance(base, SigmaCorrelationRule) for base in plan.bases):
        raise ExportError(
            f"{target} cannot export a correlation of correlations", rule_id=meta.rule_id
        )


def require_count(plan: CorrelationPlan, meta: RuleMetadata, target: str) -> None:
    """Refuse what a counting rule of ``target`` cannot express exactly."""
    require_single_events(plan, meta, target)
    if plan.type not in COUNTS:
        raise ExportError(
            f"{target} cannot express a '{plan.type}' correlation (it exports event_count and "
            "value_count as counts, temporal_ordered as a Kibana EQL sequence)",
            rule_id=meta.rule_id,
        )
    if plan.operator not in ("gt", "gte"):
        raise ExportError(
            f"{target} alerts when a count reaches a threshold; the correlation condition "
            f"'{plan.operator}' cannot be expressed (only gt and gte)",
            rule_id=meta.rule_id,
        )
