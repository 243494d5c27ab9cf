"""Microsoft Sentinel scheduled analytics rule as an ARM template, the file the portal imports.

Analytics → Import in the Sentinel portal reads the ARM template its Export writes: one
``Microsoft.OperationalInsights/workspaces/providers/alertRules`` resource of kind
``Scheduled`` named ``<workspace>/Microsoft.SecurityInsights/<rule id>``, the workspace as
the template's one parameter. The properties follow the ARM reference of
``Microsoft.SecurityInsights/alertRules`` (ScheduledAlertRuleProperties): durations in ISO
8601 (``PT5M``), ``triggerOperator`` spelled ``GreaterThan``, techniques and sub-techniques in
separate lists. The query, schedule, tactics and entity mapping are those of the ``sentinel``
YAML (:func:`taintsigma.export.sentinel.scheduled_rule`).
"""

from __future__ import annotations

import json
from typing import Any

from taintsigma.export.common import QuerySource
from taintsigma.export.sentinel import scheduled_rule
from taintsigma.rules.metadata import Duration, RuleMetadata

API_VERSION = "2023-12-01-preview"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
TRIGGER_OPERATORS = {"gt": "GreaterThan", "lt": "LessThan", "eq": "Equal", "ne": "NotEqual"}


def build(*, meta: RuleMetadata, stem: str, queries: QuerySource) -> tuple[str, list[str]]:
    """The ARM template (JSON, without a final newline) and the warnings raised making it."""
    rule, said = scheduled_rule(meta=meta, stem=stem, queries=queries)
    ids = rule["relevantTechniques"]
    properties: dict[str, Any] = {
        "displayName": rule["name"],
        "description": rule["description"],
        "severity": rule["severity"],
        "enabled": False,  # imported rules never start alerting by surprise (as every format)
        "query": rule["query"],
        "queryFrequency": iso_duration(meta.interval),
        "queryPeriod": iso_duration(meta.lookback),
        "triggerOperator": TRIGGER_OPERATORS[rule["triggerOperator"]],
        "triggerThreshold": rule["triggerThreshold"],
        "suppressionDuration": iso_duration(meta.interval),
        "suppressionEnabled": False,
        "tactics": rule["tactics"],
        "techniques": sorted({i.split(".")[0] for i in ids}),
        "subTechniques": sorted(i for i in ids if "." in i),
        "eventGroupingSettings": {"aggregationKind": "AlertPerResult"},
        "incidentConfiguration": {
            "createIncident": True,
            "groupingConfiguration": {
                "enabled": False,
                "reopenClosedIncident": False,
                "lookbackDuration": iso_duration(meta.lookback),
                "matchingMethod": "AllEntities",
                "groupByEntities": [],
                "groupByAlertDetails": [],
                "groupByCustomDetails": [],
            },
        },
        "templateVersion": rule["version"],
    }
    if "entityMappings" in rule:
        properties["entityMappings"] = rule["entityMappings"]
    template = {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {
            "workspace": {
                "type": "String",
                "metadata": {"description": "The Log Analytics workspace Sentinel runs on"},
            }
        },
        "resources": [
            {
                "id": (
                    "[concat(resourceId('Microsoft.OperationalInsights/workspaces/providers', "
                    "parameters('workspace'), 'Microsoft.SecurityInsights'),"
                    f"'/alertRules/{meta.rule_id}')]"
                ),
                "name": (
                    "[concat(parameters('workspace'),"
                    f"'/Microsoft.SecurityInsights/{meta.rule_id}')]"
                ),
                "type": "Microsoft.OperationalInsights/workspaces/providers/alertRules",
                "kind": "Scheduled",
                "apiVersion": API_VERSION,
                "properties": properties,
            }
        ],
    }
    return json.dumps(template, indent=2, ensure_ascii=False), said


def iso_duration(span: Duration) -> str:
    """A span as ISO 8601, the form ARM takes: 5m → ``PT5M``, 1d → ``P1D``, 1h30m → ``PT1H30M``.

    >>> iso_duration(Duration.parse("9m"))
    'PT9M'
    """
    days, rest = divmod(span.seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")
