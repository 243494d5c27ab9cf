"""Sigma compares strings case-insensitively; name, once per rule, the fields a target compares
case-sensitively (docs/semantics.md, "Case sensitivity of the Linux mappings").

Elasticsearch's ``keyword`` and ``wildcard`` fields keep a value's case, and the term,
wildcard and equality forms of Kibana KQL, query_string and ES|QL compare it as written: a rule
value with letters misses an event that writes them in another case. A target that says so
sets ``case_note`` in its ``target.yml`` (EQL does not: its ``:`` and ``like~`` ignore case).
Not named: analysed text fields (their analyser lower-cases both sides), numbers, addresses,
regular expressions (Sigma's ``re`` is case-sensitive unless ``|i``, which the translation
keeps), ``|cased`` values, values without a letter, the conditions a pipeline adds (ECS's
lower-case ``event.*`` values), and fields whose values the pipeline already puts in the case
the logs use (a ``case`` transformation, e.g. auditd record types).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sigma.processing.transformations import AddConditionTransformation, CaseTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import SigmaCasedString, SigmaExpansion, SigmaString

from taintsigma.convert.ecs import pipeline_field_types

# Elasticsearch field types whose values are compared with their case.
CASE_SENSITIVE_TYPES = frozenset({"keyword", "wildcard", "constant_keyword"})


def case_sensitive_fields(rule: SigmaRule, pipeline: Any) -> list[str]:
    """The target fields of a processed ``rule`` that a case-sensitive target compares with a
    rule value holding a letter, sorted; ``[]`` when there are none.

    >>> from taintsigma.convert.targets import load_target
    >>> from taintsigma.rules.loader import load_rules
    >>> target = load_target("kibana-kql")
    >>> pipeline = target.build_pipeline()
    >>> (rule,) = load_rules().collection.rules[:1]
    >>> pipeline.apply(rule) and case_sensitive_fields(rule, pipeline)
    ['process.name']
    """
    if pipeline is None:
        return []
    types = pipeline_field_types(pipeline)
    added = {
        item.transformation.name
        for item in pipeline.items
        if isinstance(getattr(item, "transformation", None), AddConditionTransformation)
    }
    cased = {
        item.identifier
        for item in pipeline.items
        if isinstance(getattr(item, "transformation", None), CaseTransformation)
        and item.identifier
    }
    found: set[str] = set()
    for name, detection in rule.detection.detections.items():
        if name in added:
            continue
        for item in _items(detection):
            if (
                item.field is not None
                and types.get(item.field) in CASE_SENSITIVE_TYPES
                and not cased & set(item.applied_processing_items)
                and any(_has_letter(value) for value in item.value)
            ):
                found.add(item.field)
    return sorted(found)


def _items(detection: SigmaDetection) -> Iterator[SigmaDetectionItem]:
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            yield from _items(item)
        else:
            yield item


def _has_letter(value: object) -> bool:
    if isinstance(value, SigmaExpansion):
        return any(_has_letter(v) for v in value.values)
    if not isinstance(value, SigmaString) or isinstance(value, SigmaCasedString):
        return False
    return any(isinstance(part, str) and part.lower() != part.upper() for part in value.s)
