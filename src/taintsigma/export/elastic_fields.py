"""Kibana's build-time fields of an Elastic rule: ``required_fields`` and ``related_integrations``.

Both come from the rule *after* the target's pipeline, so they follow whatever mapping a
logsource has in ``backends/`` with no code here: every field name the processed detection
uses (keyword searches count as the pipeline's keyword field, ``taintsigma_keyword_field``)
is a required field, typed from the official ECS definitions the conversion also reads
(``backends/_common/ecs_fields.json``, :mod:`taintsigma.convert.ecs`) or, for a field ECS does
not define, from the pipeline's ``taintsigma_declared_field_types`` var, else
``unknown``, as detection-rules writes it. The related integrations are the Fleet packages of
the query's ``event.dataset`` / ``data_stream.dataset`` values (``system.syslog`` → ``system``),
else of the rule's index patterns (``logs-system.syslog-*`` → ``system``), each with the
version range of ``data/elastic/integrations.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from sigma.rule import SigmaDetection, SigmaDetectionItem

from taintsigma.convert.ecs import DECLARED_TYPES_VAR, ecs_field_types
from taintsigma.rules.metadata import RuleMetadata

DATASET_FIELDS = ("event.dataset", "data_stream.dataset")
KEYWORD_FIELD_VAR = "taintsigma_keyword_field"
ANY_VERSION = "*"


@cache
def integration_versions() -> Mapping[str, str]:
    """Fleet package → the version range written in ``related_integrations``."""
    resource = files("taintsigma").joinpath("data", "elastic", "integrations.json")
    return json.loads(resource.read_text("utf-8"))["versions"]


def required_fields(
    rules: list[Any], pipeline_vars: Mapping[str, Any], extra: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """``[{name, type, ecs}]`` for every field the processed rules search (and ``extra``
    target field names, such as a threshold's group-by), sorted by name.

    >>> required_fields([], {})
    []
    """
    keyword_field = pipeline_vars.get(KEYWORD_FIELD_VAR)
    declared: Mapping[str, str] = pipeline_vars.get(DECLARED_TYPES_VAR) or {}
    names: set[str] = set(extra)
    for rule in rules:
        for item in _items(rule):
            name = item.field if item.field is not None else keyword_field
            if name:
                names.add(name)
    fields = []
    for name in sorted(names):
        ecs_type = ecs_field_types().get(name)
        kind = ecs_type or declared.get(name) or "unknown"
        fields.append({"name": name, "type": kind, "ecs": ecs_type is not None})
    return fields


def related_integrations(rules: list[Any], meta: RuleMetadata) -> list[dict[str, str]]:
    """``[{package, version}]``: the Fleet packages whose data the rule searches."""
    packages: list[str] = []
    for rule in rules:
        for item in _items(rule):
            if item.field in DATASET_FIELDS:
                for value in item.value:
                    text = str(value)
                    package = text.split(".", 1)[0]
                    if package and "*" not in package and package not in packages:
                        packages.append(package)
    if not packages:
        packages = list(meta.elastic_integration)
    versions = integration_versions()
    return [{"package": p, "version": versions.get(p, ANY_VERSION)} for p in sorted(packages)]


def _items(rule: Any) -> Iterator[SigmaDetectionItem]:
    detections = getattr(getattr(rule, "detection", None), "detections", None) or {}
    for detection in detections.values():
        yield from _walk(detection)


def _walk(node: SigmaDetection | SigmaDetectionItem) -> Iterator[SigmaDetectionItem]:
    if isinstance(node, SigmaDetectionItem):
        yield node
        return
    for child in node.detection_items:
        yield from _walk(child)
