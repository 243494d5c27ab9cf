"""The field mappings of a target's pipelines, read back as data: logsource → Sigma → target.

The pipelines under ``backends/`` are the one source of truth for field names. This module
reads them the other way round, for the native scan (reading a SIEM's documents back into
Sigma's names), for ``taintsigma targets`` (which logsources a target knows), and for error
messages naming the field a target's mapping lacks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sigma.processing.conditions import IncludeFieldCondition, LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    AddConditionTransformation,
    FieldMappingTransformation,
    MapStringTransformation,
)
from sigma.rule import (
    SigmaDetection,
    SigmaDetectionItem,
    SigmaDetections,
    SigmaLogSource,
    SigmaRule,
)

from taintsigma.convert.targets import Target, load_target


def logsource_key(source: SigmaLogSource) -> str:
    """``linux/process_creation``, ``linux/sshd`` (a service), or ``linux`` (product only)."""
    parts = [source.product or "*"]
    parts += [p for p in (source.category, source.service) if p]
    return "/".join(parts)


def field_mappings(
    target: Target | str, options: Iterable[str] = ()
) -> dict[str, dict[str, tuple[str, ...]]]:
    """Every logsource the target's pipelines name, with its field mapping.

    Returns ``{logsource key: {Sigma field: (target field, …)}}`` (a Sigma field mapped to
    several target fields is searched in any of them).

    >>> field_mappings("kibana-kql")["linux/process_creation"]["Image"]
    ('process.executable',)
    """
    pipeline = _pipeline(target, tuple(options))
    mappings = {
        logsource_key(source): mapping_for(pipeline, source)
        for source in _named_logsources(pipeline)
    }
    return {key: mapping for key, mapping in mappings.items() if mapping}


def reverse_field_mappings(
    target: Target | str, options: Iterable[str] = ()
) -> dict[str, dict[str, tuple[str, ...]]]:
    """The mappings the other way round: ``{logsource key: {target field: (Sigma field, …)}}``,
    for reading a SIEM's documents back into Sigma's names.

    >>> reverse_field_mappings("kibana-kql")["linux/process_creation"]["process.executable"]
    ('Image',)
    """
    reverse: dict[str, dict[str, tuple[str, ...]]] = {}
    for key, mapping in field_mappings(target, options).items():
        back: dict[str, list[str]] = {}
        for sigma, mapped in mapping.items():
            for name in mapped:
                back.setdefault(name, []).append(sigma)
        reverse[key] = {name: tuple(sigmas) for name, sigmas in back.items()}
    return reverse


def reverse_value_mappings(
    target: Target | str, options: Iterable[str] = ()
) -> dict[str, dict[str, dict[str, str]]]:
    """The pipelines' value mappings (``map_string`` items naming the Sigma fields they apply
    to) the other way round: ``{logsource key: {target field: {target value: Sigma value}}}``.

    >>> reverse_value_mappings("kibana-kql")["linux/network_connection"]["network.direction"]
    {'egress': 'true', 'ingress': 'false'}
    """
    pipeline = _pipeline(target, tuple(options))
    found: dict[str, dict[str, dict[str, str]]] = {}
    for source in _named_logsources(pipeline):
        probe = _probe(source)
        fields = mapping_for(pipeline, source)
        back: dict[str, dict[str, str]] = {}
        for item in pipeline.items:
            transformation = getattr(item, "transformation", None)
            if not isinstance(transformation, MapStringTransformation):
                continue
            if not item.match_rule_conditions(probe):
                continue
            conditions = item.field_name_conditions
            if isinstance(conditions, dict):
                conditions = list(conditions.values())
            for condition in conditions:
                if not isinstance(condition, IncludeFieldCondition) or condition.mode != "plain":
                    continue
                for sigma in condition.fields:
                    for name in fields.get(sigma, (sigma,)):
                        values = back.setdefault(name, {})
                        for value, mapped in transformation.mapping.items():
                            for one in [mapped] if isinstance(mapped, str) else mapped:
                                values.setdefault(one, value)
        if back:
            found[logsource_key(source)] = back
    return found


def logsource_conditions(
    target: Target | str, options: Iterable[str] = ()
) -> dict[str, dict[str, object]]:
    """The conditions the pipelines add to every rule of a logsource (``add_condition``
    items): ``{logsource key: {target field: value}}``, what a document must hold to be one of
    that logsource's events for this target.

    >>> logsource_conditions("kibana-kql", ["auditbeat"])["linux/process_creation"]["event.action"]
    'executed'
    """
    pipeline = _pipeline(target, tuple(options))
    found: dict[str, dict[str, object]] = {}
    for source in _named_logsources(pipeline):
        probe = _probe(source)
        conditions: dict[str, object] = {}
        for item in pipeline.items:
            transformation = getattr(item, "transformation", None)
            if isinstance(transformation, AddConditionTransformation) and (
                item.match_rule_conditions(probe)
            ):
                conditions.update(transformation.conditions)
        if conditions:
            found[logsource_key(source)] = conditions
    return found


def logsource_indices(options: Iterable[str] = ()) -> dict[str, tuple[str, ...]]:
    """Elasticsearch indices per logsource: the ``index`` states of the esql target's
    pipelines (the same for every Elastic target and export; ``("elastic-agent",)`` gives the
    Elastic Agent data streams).

    >>> logsource_indices()["linux/process_creation"]
    ('logs-endpoint.events.process-*',)
    """
    pipeline = _pipeline("esql", tuple(options))
    found: dict[str, tuple[str, ...]] = {}
    for source in _named_logsources(pipeline):
        probe = _probe(source)
        value: Any = None
        for item in pipeline.items:
            transformation = getattr(item, "transformation", None)
            if getattr(transformation, "key", None) == "index" and item.match_rule_conditions(
                probe
            ):
                value = transformation.val  # type: ignore[union-attr]  # later items win
        if value:
            found[logsource_key(source)] = (value,) if isinstance(value, str) else tuple(value)
    return found


def logsource_tables() -> dict[str, str]:
    """The table (or ASIM parser) a sentinel query of each logsource starts with.

    >>> logsource_tables()["linux/sshd"]
    'Syslog'
    """
    pipeline = _pipeline("sentinel", ())
    found: dict[str, str] = {}
    for source in _named_logsources(pipeline):
        probe = _probe(source)
        for item in pipeline.postprocessing_items:
            template = getattr(getattr(item, "transformation", None), "template", None)
            if isinstance(template, str) and item.match_rule_conditions(probe):
                found[logsource_key(source)] = template.split("\n", 1)[0].strip()
    return found


def _probe(source: SigmaLogSource) -> SigmaRule:
    return SigmaRule(
        title="probe",
        logsource=source,
        detection=SigmaDetections.from_dict({"sel": {"probe": "x"}, "condition": "sel"}),
    )


def mapping_for(pipeline: ProcessingPipeline, source: SigmaLogSource) -> dict[str, tuple[str, ...]]:
    """The field mapping the pipeline applies to rules of logsource ``source``."""
    probe = _probe(source)
    mapping: dict[str, tuple[str, ...]] = {}
    for item in _mapping_items(pipeline):
        if item.match_rule_conditions(probe):
            for sigma, mapped in item.transformation.mapping.items():
                if sigma is not None and sigma not in mapping:
                    mapping[sigma] = (mapped,) if isinstance(mapped, str) else tuple(mapped)
    return mapping


def unmapped_fields(
    rule: SigmaRule, target: Target | str, options: Iterable[str] = ()
) -> list[str]:
    """The fields of ``rule`` (before any pipeline ran) its logsource's mapping lacks."""
    return unmapped_of(rule_fields(rule), rule.logsource, target, options)


def unmapped_of(
    fields: Iterable[str],
    logsource: SigmaLogSource,
    target: Target | str,
    options: Iterable[str] = (),
) -> list[str]:
    """Which of a rule's ``fields`` (read before its pipeline ran) ``logsource``'s mapping lacks."""
    mapping = mapping_for(_pipeline(target, tuple(options)), logsource)
    return sorted({f for f in fields if f not in mapping})


def _pipeline(target: Target | str, options: tuple[str, ...]) -> ProcessingPipeline:
    target = load_target(target) if isinstance(target, str) else target
    return target.build_pipeline(options)  # its items know their pipeline already


def _mapping_items(pipeline: ProcessingPipeline) -> list[ProcessingItem]:
    return [
        item
        for item in pipeline.items
        if isinstance(item, ProcessingItem)
        and isinstance(item.transformation, FieldMappingTransformation)
    ]


# Sigma's Linux logsources (its taxonomy appendix), probed for every target besides those its
# pipelines name.
_LINUX = [("linux", None, None)] + [
    ("linux", c, None) for c in ("process_creation", "file_event", "network_connection")
] + [
    ("linux", None, s)
    for s in ("auditd", "auth", "clamav", "cron", "guacamole", "sshd", "su", "sudo", "syslog",
              "vsftpd")
]  # fmt: skip


def _named_logsources(pipeline: ProcessingPipeline) -> list[SigmaLogSource]:
    found: dict[tuple[Any, ...], SigmaLogSource] = {
        key: SigmaLogSource(product=key[0], category=key[1], service=key[2]) for key in _LINUX
    }
    for item in pipeline.items:
        conditions = getattr(item, "rule_conditions", None) or []
        if isinstance(conditions, dict):
            conditions = list(conditions.values())
        for condition in conditions:
            if isinstance(condition, LogsourceCondition):
                source = condition.logsource
                key = (source.product, source.category, source.service)
                found.setdefault(
                    key, SigmaLogSource(product=key[0], category=key[1], service=key[2])
                )
    return sorted(found.values(), key=logsource_key)


def rule_fields(rule: SigmaRule) -> set[str]:
    """The field names a rule's detections search (keywords excluded)."""
    fields: set[str] = set()

    def walk(detection: SigmaDetection) -> None:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                walk(item)
            elif isinstance(item, SigmaDetectionItem) and item.field is not None:
                fields.add(item.field)

    for detection in rule.detection.detections.values():
        walk(detection)
    return fields
