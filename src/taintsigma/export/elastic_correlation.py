"""The query of an Elastic rule, correlations included: threshold rules and EQL sequences.

- ``event_count`` → a Kibana threshold rule: the correlated rules' KQL, ``threshold.field``
  the group-by fields, ``threshold.value`` the smallest count that fires, and the run's window
  (``from``) the correlation's timespan.
- ``value_count`` → the same with ``threshold.cardinality`` (the distinct values of the
  field), ``threshold.value`` 1.
- ``temporal_ordered`` → an EQL rule ``sequence by <group-by> with maxspan=<timespan>``, one
  step per correlated rule, in order.

Single-event rules go through :func:`taintsigma.export.common.elastic_query`.
"""

from __future__ import annotations

from typing import Any

from taintsigma.errors import ExportError
from taintsigma.export.common import (
    ElasticQuery,
    QuerySource,
    elastic_query,
    processed_rules,
)
from taintsigma.export.correlation import (
    CorrelationPlan,
    correlation_plan,
    require_count,
    require_single_events,
)
from taintsigma.export.elastic_fields import related_integrations, required_fields
from taintsigma.rules.metadata import RuleMetadata

TARGET = "Kibana"


def elastic_rule_query(meta: RuleMetadata, stem: str, queries: QuerySource) -> ElasticQuery:
    """The Elastic query of the rule exported under ``stem`` (a correlation or not)."""
    plan = correlation_plan(queries.rule(stem))
    if plan is None:
        return elastic_query(meta, stem, queries)
    if plan.type == "temporal_ordered":
        require_single_events(plan, meta, TARGET)
        return _sequence(plan, meta, queries)
    if plan.type == "temporal":
        raise ExportError(
            "Kibana cannot express a 'temporal' correlation exactly: an EQL sequence is "
            "ordered, and a threshold rule counts one query; use temporal_ordered",
            rule_id=meta.rule_id,
        )
    require_count(plan, meta, TARGET)
    return _threshold(plan, meta, queries)


def _threshold(plan: CorrelationPlan, meta: RuleMetadata, queries: QuerySource) -> ElasticQuery:
    conversions = [queries.query_alone("kibana-kql", base) for base in plan.bases]
    texts = [c.query for c in conversions]
    query = texts[0] if len(texts) == 1 else " or ".join(f"({t})" for t in texts)
    fields = queries.mapped_fields("kibana-kql", plan.bases[0], plan.group_by)
    threshold: dict[str, Any] = {"field": fields, "value": plan.at_least}
    if plan.type == "value_count":
        if plan.field is None:
            raise ExportError("value_count needs a condition field", rule_id=meta.rule_id)
        (counted,) = queries.mapped_fields("kibana-kql", plan.bases[0], [plan.field])
        threshold = {
            "field": fields,
            "value": 1,
            "cardinality": [{"field": counted, "value": plan.at_least}],
        }
    return _with_fields(
        ElasticQuery(
            type="threshold",
            language="kuery",
            query=query,
            warnings=tuple(w for c in conversions for w in c.warnings),
            threshold=threshold,
            window=plan.timespan,
        ),
        conversions,
        meta,
        queries.pipeline_vars("kibana-kql"),
        fields + [c["field"] for c in threshold.get("cardinality", [])],
    )


def _sequence(plan: CorrelationPlan, meta: RuleMetadata, queries: QuerySource) -> ElasticQuery:
    conversions = [queries.query_alone("eql", base) for base in plan.bases]
    fields = queries.mapped_fields("eql", plan.bases[0], plan.group_by)
    head = "sequence" + (f" by {', '.join(fields)}" if fields else "")
    lines = [f"{head} with maxspan={plan.timespan.text}"]
    lines += [f"  [{c.query.strip()}]" for c in conversions]
    return _with_fields(
        ElasticQuery(
            type="eql",
            language="eql",
            query="\n".join(lines),
            warnings=tuple(w for c in conversions for w in c.warnings),
        ),
        conversions,
        meta,
        queries.pipeline_vars("eql"),
        fields,
    )


def _with_fields(
    query: ElasticQuery,
    conversions: list[Any],
    meta: RuleMetadata,
    pipeline_vars: dict[str, Any],
    extra: list[str],
) -> ElasticQuery:
    processed = [rule for c in conversions for rule in processed_rules(c.rule)]
    return ElasticQuery(
        type=query.type,
        language=query.language,
        query=query.query,
        warnings=query.warnings,
        required_fields=tuple(required_fields(processed, pipeline_vars, extra)),
        related_integrations=tuple(related_integrations(processed, meta)),
        threshold=query.threshold,
        window=query.window,
    )
