"""Microsoft Sentinel scheduled analytics rule, as YAML of the Azure-Sentinel content repository.

Fields and limits follow that repository's template validation (Scheduled kind): id (GUID),
name (≤ 256), description (≤ 5000), severity (Informational/Low/Medium/High),
requiredDataConnectors, queryFrequency and queryPeriod (``<n>m``/``<n>h``/``<n>d``, 5 minutes
to 14 days, period ≥ frequency), triggerOperator/triggerThreshold, tactics (every ATT&CK tactic
of each listed technique), relevantTechniques, query (≤ 10000) from the ``sentinel`` target,
entityMappings, version, kind.
"""

from __future__ import annotations

from typing import Any

import yaml

from taintsigma.convert.conversion import Conversion
from taintsigma.errors import ExportError
from taintsigma.export.common import QuerySource, description_with_guide
from taintsigma.export.correlation import CorrelationPlan, correlation_plan, require_count
from taintsigma.rules.attack import load_attack
from taintsigma.rules.metadata import Duration, RuleMetadata

SEVERITY = {
    "informational": "Informational",
    "low": "Low",
    "medium": "Medium",
    "high": "High",
    "critical": "High",  # Sentinel's highest severity
}
MIN_SPAN = 5 * 60
MAX_SPAN = 14 * 86400
MAX_DESCRIPTION = 5000
MAX_QUERY = 10000
# The sentinel target's pipelines describe each table their queries start with in vars named
# so: {table: {connectors: [...], host_column: ...}} (backends/sentinel/*.yml).
TABLES_VAR_PREFIX = "taintsigma_sentinel_tables_"


def build(*, meta: RuleMetadata, stem: str, queries: QuerySource) -> tuple[str, list[str]]:
    """The YAML document (without a final newline) and the warnings raised making it."""
    document, said = scheduled_rule(meta=meta, stem=stem, queries=queries)
    return _dump(document), said


def scheduled_rule(
    *, meta: RuleMetadata, stem: str, queries: QuerySource
) -> tuple[dict[str, Any], list[str]]:
    """The scheduled rule as the content repository's YAML fields, and the warnings said.

    Shared by the ``sentinel`` (YAML) and ``sentinel-arm`` (ARM template) formats, so both
    carry the same query, schedule and entity mapping.
    """
    plan = correlation_plan(queries.rule(stem))
    grouped: list[str] = []
    if plan is None:
        result = queries.query("sentinel", stem, meta.rule_id)
        if not isinstance(result, Conversion):
            raise result
        said = list(result.warnings)
        query = with_ingestion_window(result.query, meta.interval)
        tables = [_table(result.query)]
    else:
        require_count(plan, meta, "Sentinel")
        grouped = queries.mapped_fields("sentinel", plan.bases[0], plan.group_by)
        query, said, tables = _correlation_query(plan, grouped, meta, queries)
    connectors, hosts = _table_data(tables, queries.pipeline_vars("sentinel"), meta)
    if len(query) > MAX_QUERY:
        raise ExportError(
            f"the Sentinel query is {len(query)} characters; Sentinel allows {MAX_QUERY}",
            rule_id=meta.rule_id,
        )
    frequency = _span("schedule.interval", meta.interval, meta.rule_id)
    period = _span("schedule.lookback", meta.lookback, meta.rule_id)
    description = description_with_guide(meta)
    if len(description) > MAX_DESCRIPTION:
        description = description_with_guide(meta, include_note=False)
        said.append(
            f"rule {meta.rule_id}: the investigation guide (note) is left out of the Sentinel "
            f"description, which Sentinel limits to {MAX_DESCRIPTION} characters"
        )
    if len(description) > MAX_DESCRIPTION:
        raise ExportError(
            f"field 'description': {len(description)} characters with the false positives; "
            f"Sentinel allows {MAX_DESCRIPTION}",
            rule_id=meta.rule_id,
        )
    if len(meta.title) > 256:
        raise ExportError("field 'title': Sentinel allows 256 characters", rule_id=meta.rule_id)
    document: dict[str, Any] = {
        "id": meta.rule_id,
        "name": meta.title,
        "description": description,
        "severity": SEVERITY[meta.level],
        "requiredDataConnectors": connectors,
        "queryFrequency": frequency,
        "queryPeriod": period,
        "triggerOperator": "gt",
        "triggerThreshold": 0,
        "tactics": sentinel_tactics(meta),
        "relevantTechniques": list(meta.attack.named_technique_ids),
        "query": query,
    }
    if len(hosts) == 1 and (
        plan is None or hosts[0] in grouped
    ):  # a correlation's rows carry only its group-by columns
        document["entityMappings"] = [
            {
                "entityType": "Host",
                "fieldMappings": [{"identifier": "HostName", "columnName": hosts[0]}],
            }
        ]
    document["version"] = f"{meta.version}.0.0"
    document["kind"] = "Scheduled"
    return document, said


def _correlation_query(
    plan: CorrelationPlan, grouped: list[str], meta: RuleMetadata, queries: QuerySource
) -> tuple[str, list[str], list[str]]:
    """Count per fixed window (``bin(TimeGenerated, timespan)``) and group, and keep each
    window once: those that closed since the previous run. Also returns the tables read."""
    conversions = [queries.query_alone("sentinel", base) for base in plan.bases]
    texts = [c.query for c in conversions]
    source = texts[0] if len(texts) == 1 else "union " + ", ".join(f"({t})" for t in texts)
    if plan.type == "value_count":
        if plan.field is None:
            raise ExportError("value_count needs a condition field", rule_id=meta.rule_id)
        (counted,) = queries.mapped_fields("sentinel", plan.bases[0], [plan.field])
        # dcount() estimates; the size of the set of values is exact
        aggregate = f"value_count = array_length(make_set({counted}))"
        name = "value_count"
    else:
        aggregate, name = "event_count = count()", "event_count"
    seconds = plan.timespan.seconds
    span = f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"
    by = ", ".join([f"bin(TimeGenerated, {span})", *grouped])
    op = ">" if plan.operator == "gt" else ">="
    interval = f"{meta.interval.seconds // 60}m"
    lines = [
        source,
        f"| summarize {aggregate} by {by}",
        f"| where {name} {op} {plan.count}",
        f"| where TimeGenerated + {span} > ago({interval}) and TimeGenerated + {span} <= now()",
    ]
    tables = [_table(text) for text in texts]
    return "\n".join(lines), [w for c in conversions for w in c.warnings], tables


def with_ingestion_window(query: str, interval: Duration) -> str:
    """The query limited to rows ingested since the previous run.

    The look-back (queryPeriod) is longer than the frequency so late rows are still seen; this
    filter makes consecutive runs tile ingestion time, so each row raises one alert (Microsoft's
    advice for ingestion delay in scheduled rules; Kibana does the same with event.ingested).
    """
    minutes = interval.seconds // 60
    return f"{query}\n| where ingestion_time() > ago({minutes}m)"


def sentinel_tactics(meta: RuleMetadata) -> list[str]:
    """Tactic names as Sentinel spells them (``DefenseEvasion``).

    The rule's tactics first, then every other ATT&CK tactic of its techniques: Sentinel
    rejects a technique whose tactics are not all listed.
    """
    snapshot = load_attack()
    names = [t.name for t in meta.attack.tactics]
    for technique in meta.attack.techniques:
        for short in technique.tactics:
            tactic = snapshot.tactic(short)
            if tactic is not None and tactic.name not in names:
                names.append(tactic.name)
    return ["".join(word[:1].upper() + word[1:] for word in name.split()) for name in names]


def _table(query: str) -> str:
    """The table (or ASIM parser) a sentinel query starts with: its first word."""
    return query.split(None, 1)[0] if query.strip() else ""


def _table_data(
    tables: list[str], pipeline_vars: dict[str, Any], meta: RuleMetadata
) -> tuple[list[dict[str, Any]], list[str]]:
    """The data connectors that fill ``tables`` (each once, in order) and their host columns,
    from the pipelines' ``taintsigma_sentinel_tables_*`` vars; a table they do not describe
    is an error naming it."""
    known: dict[str, Any] = {}
    for name, value in pipeline_vars.items():
        if name.startswith(TABLES_VAR_PREFIX) and isinstance(value, dict):
            known.update(value)
    connectors: list[dict[str, Any]] = []
    hosts: list[str] = []
    for table in tables:
        if table not in known:
            raise ExportError(
                f"no Sentinel data connector known for table '{table}' (logsource "
                f"product={meta.product} category={meta.category} service={meta.service}); "
                f"describe it in a {TABLES_VAR_PREFIX}* var of backends/sentinel/",
                rule_id=meta.rule_id,
            )
        for connector in known[table].get("connectors", []):
            entry = {"connectorId": connector["connectorId"], "dataTypes": list(connector["dataTypes"])}
            if entry not in connectors:
                connectors.append(entry)
        host = known[table].get("host_column")
        if host and host not in hosts:
            hosts.append(host)
    return connectors, hosts


def _span(name: str, span: Duration, rule_id: str) -> str:
    text = span.text
    if text.endswith("s") or not MIN_SPAN <= span.seconds <= MAX_SPAN:
        raise ExportError(
            f"field '{name}': Sentinel needs whole minutes from 5m to 14d, not {text}",
            rule_id=rule_id,
        )
    return text


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line text (queries, descriptions), as the content repository."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(c in value for c in "\x85\u2028\u2029"):
        # YAML reads these as line breaks unless escaped, which only double quotes do.
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def _dump(document: dict[str, Any]) -> str:
    return yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=10_000,
        default_flow_style=False,
        indent=2,
    ).rstrip("\n")
