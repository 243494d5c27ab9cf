"""Kibana detection rules (NDJSON, one rule per line) as Kibana's rule import reads them.

Fields follow Kibana's detection engine rule API (create/import): a ``query`` rule in KQL
(``language: kuery``) from the ``kibana-kql`` target; a rule KQL cannot express falls back to
an ``eql`` rule (the ``eql`` target), then an ``esql`` rule (the ``esql`` target), with a
warning. Rules are exported disabled (``enabled: false``): importing never starts alerting.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from taintsigma.convert import Conversion
from taintsigma.errors import ExportError, TaintSigmaError, UnsupportedByTarget
from taintsigma.export.common import QuerySource
from taintsigma.metadata import RuleMetadata


@dataclass(frozen=True, kw_only=True)
class ElasticQuery:
    """The query of an Elastic rule: rule type, query language, text, and what was said."""

    type: str
    language: str
    query: str
    warnings: tuple[str, ...] = ()


# Elastic rule type, query language, conversion target; tried in this order.
QUERY_CHAIN = (("query", "kuery", "kibana-kql"), ("eql", "eql", "eql"), ("esql", "esql", "esql"))


def elastic_query(meta: RuleMetadata, stem: str, queries: QuerySource) -> ElasticQuery:
    """KQL if the rule can be expressed in KQL, else EQL, else ES|QL (with a warning).

    An error other than UnsupportedByTarget (a target that is not installed, say) is raised as
    is; if no language can express the rule, ExportError lists why for each.
    """
    reasons: list[str] = []
    for rule_type, language, target in QUERY_CHAIN:
        result = queries.query(target, stem, meta.rule_id)
        if isinstance(result, Conversion):
            said = list(result.warnings)
            if reasons:
                said.insert(
                    0,
                    f"rule {meta.rule_id}: exported as a Kibana '{rule_type}' rule because "
                    + "; ".join(reasons),
                )
            return ElasticQuery(
                type=rule_type, language=language, query=result.query, warnings=tuple(said)
            )
        if not isinstance(result, UnsupportedByTarget):
            raise result
        reasons.append(_reason(result, target))
    raise ExportError(
        "cannot be exported as a Kibana rule: " + "; ".join(reasons), rule_id=meta.rule_id
    )


def kibana_rule(meta: RuleMetadata, query: ElasticQuery) -> dict[str, Any]:
    """The rule as Kibana's detection rule API object (field order fixed, empty keys left out)."""
    rule: dict[str, Any] = {
        "rule_id": meta.rule_id,
        "name": meta.title,
        "description": meta.description,
        "type": query.type,
        "language": query.language,
        "query": query.query,
    }
    if query.type != "esql":  # an ES|QL query names its indices in FROM
        rule["index"] = list(meta.require_elastic_index())
    rule.update(
        {
            "from": f"now-{meta.lookback.text}",
            "interval": meta.interval.text,
            "max_signals": meta.max_alerts,
            "severity": meta.severity,
            "risk_score": meta.risk_score,
            "tags": list(meta.elastic_tags),
            "threat": meta.attack.to_kibana(),
            "false_positives": list(meta.elastic_false_positives),
        }
    )
    if meta.note:
        rule["note"] = meta.note
    if meta.setup:
        rule["setup"] = meta.setup
    rule["author"] = list(meta.elastic_authors)
    if meta.license:
        rule["license"] = meta.license
    rule["version"] = meta.version
    rule["references"] = list(meta.references)
    if meta.timestamp_override:
        rule["timestamp_override"] = meta.timestamp_override
    rule["enabled"] = False
    return rule


def build(*, meta: RuleMetadata, stem: str, queries: QuerySource) -> tuple[str, list[str]]:
    """One NDJSON line (without its newline) and the warnings raised making it."""
    query = elastic_query(meta, stem, queries)
    text = json.dumps(kibana_rule(meta, query), ensure_ascii=False, separators=(",", ":"))
    return text, list(query.warnings)


def _reason(error: TaintSigmaError, target: str) -> str:
    """Why ``target`` refused the rule, phrased after its name, without the rule id."""
    text = error.message
    if error.rule_id and text.startswith(f"rule {error.rule_id}: "):
        text = text[len(f"rule {error.rule_id}: ") :]
    prefix = f"cannot convert for target '{target}': "
    text = text.removeprefix(prefix)
    if text.startswith(f"target '{target}' cannot "):
        return f"{target} {text[len(f'target {target!r} ') :]}"
    return f"{target} cannot express it ({text})"
