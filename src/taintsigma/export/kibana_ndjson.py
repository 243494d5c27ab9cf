"""Kibana detection rules (NDJSON, one rule per line) as Kibana's rule import reads them.

Fields follow Kibana's detection engine rule API (create/import): a ``query`` rule in KQL
(``language: kuery``) from the ``kibana-kql`` target; a rule KQL cannot express falls back to
an ``eql`` rule (the ``eql`` target), then an ``esql`` rule (the ``esql`` target), with a
warning. Rules are exported disabled (``enabled: false``): importing never starts alerting.
"""

from __future__ import annotations

import json
from typing import Any

from taintsigma.export.common import ElasticQuery, QuerySource
from taintsigma.export.elastic_correlation import elastic_rule_query
from taintsigma.rules.metadata import RuleMetadata


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
    if query.threshold is not None:
        rule["threshold"] = query.threshold
    rule.update(
        {
            "from": f"now-{(query.window or meta.lookback).text}",
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
    if query.related_integrations:
        rule["related_integrations"] = [dict(i) for i in query.related_integrations]
    if query.required_fields:
        rule["required_fields"] = [dict(f) for f in query.required_fields]
    if meta.timestamp_override:
        rule["timestamp_override"] = meta.timestamp_override
    rule["enabled"] = False
    return rule


def build(*, meta: RuleMetadata, stem: str, queries: QuerySource) -> tuple[str, list[str]]:
    """One NDJSON line (without its newline) and the warnings raised making it."""
    query = elastic_rule_query(meta, stem, queries)
    text = json.dumps(kibana_rule(meta, query), ensure_ascii=False, separators=(",", ":"))
    return text, list(query.warnings)
