"""Convert rules into query text for a target: rule × (pipeline + pySigma backend) → text."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sigma.collection import SigmaCollection
from sigma.conditions import SigmaCondition
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import (
    SigmaError,
    SigmaFeatureNotSupportedByBackendError,
    SigmaTransformationError,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from taintsigma.convert.fieldtypes import declared_keyword_field, declared_text_fields
from taintsigma.convert.targets import Target, load_target
from taintsigma.errors import (
    ConversionError,
    ErrorPolicy,
    TaintSigmaError,
    TranslationWarning,
    UnsupportedByTarget,
)
from taintsigma.rules.batch import clone, gc_paused
from taintsigma.rules.loader import LoadedRules, as_error, output_stems, rule_id, rule_path


@dataclass(frozen=True, kw_only=True)
class Conversion:
    """The query text of one rule for one target, with the translation warnings it raised."""

    rule: SigmaRule | SigmaCorrelationRule = field(compare=False)
    rule_id: str
    stem: str
    target: str
    extension: str
    query: str
    warnings: tuple[str, ...] = ()


@dataclass
class ConversionReport:
    """Results of a batch conversion: conversions in rule order, and per-rule errors."""

    conversions: list[Conversion] = field(default_factory=list)
    errors: list[TaintSigmaError] = field(default_factory=list)


@gc_paused()
def convert_rules(
    rules: LoadedRules | SigmaCollection,
    target: Target | str,
    *,
    options: Iterable[str] = (),
    on_error: ErrorPolicy = ErrorPolicy.RAISE,
    consume: bool = False,
) -> ConversionReport:
    """Convert every rule of a collection for one target.

    The collection is not modified (pipelines rewrite rules in place, so each target works on
    a copy) unless ``consume=True``: the caller hands the rules over and they are converted in
    place, saving the copy (a CLI run's last target does this). A rule the target cannot express raises UnsupportedByTarget, or with
    ``on_error=ErrorPolicy.COLLECT`` lands in ``report.errors`` while the others convert.

    >>> from taintsigma import load_rules
    >>> report = convert_rules(load_rules(), "kibana-kql")
    >>> report.conversions[0].query.startswith("host.os.type:linux")
    True
    """
    target = load_target(target) if isinstance(target, str) else target
    collection = rules.collection if isinstance(rules, LoadedRules) else rules
    # Copy the whole collection at once so correlation references stay consistent.
    working: SigmaCollection = collection if consume else clone(collection)
    backend = target.create_backend(tuple(options))
    backend.init_processing_pipeline(target.format)
    report = ConversionReport()
    mappings = _Mappings(target, tuple(options))
    for rule, original, stem in zip(working.rules, collection.rules, output_stems(working.rules)):
        # What a refusal of unmapped fields names: the rule's fields before its pipeline ran
        # (a consumed rule is converted in place, so they are read first).
        before = _fields_before(rule if consume else original)
        try:
            _one_condition(rule)
            query, caught = _convert_one(backend, rule, target)
        except Exception as err:  # every failure becomes one line naming rule and target
            error = _wrap(err, rule, target, original=before, mappings=mappings)
            if on_error is ErrorPolicy.RAISE:
                raise error from err
            report.errors.append(error)
            continue
        if query is None:
            continue
        report.conversions.append(
            Conversion(
                rule=rule,
                rule_id=rule_id(rule),
                stem=stem,
                target=target.id,
                extension=target.extension,
                query=query,
                warnings=caught,
            )
        )
    return report


def convert_rule(
    rule: SigmaRule | SigmaCorrelationRule,
    target: Target | str,
    *,
    options: Iterable[str] = (),
) -> str:
    """Return the query text of a single (non-correlation) rule for a target.

    Raises UnsupportedByTarget when the target cannot express the rule, ConversionError when
    pySigma fails or produces no query.
    """
    report = convert_rules(SigmaCollection([clone(rule)]), target, options=options, consume=True)
    if not report.conversions:
        raise ConversionError(
            "the backend produced no query", path=rule_path(rule), rule_id=rule_id(rule)
        )
    return report.conversions[0].query


def _one_condition(rule: SigmaRule | SigmaCorrelationRule) -> None:
    """Join a rule's list of conditions into one condition meaning "either", in place.

    Sigma reads ``condition: [a, b]`` as ``a or b``; pySigma converts each list element into a
    query of its own, which a SIEM would run as two searches (or, joined into one field, as an
    AND). One condition gives one query with the rule's meaning, for every target.
    """
    detections = getattr(rule, "detection", None)
    if detections is None or len(detections.condition) < 2:
        return
    joined = " or ".join(f"({condition})" for condition in detections.condition)
    detections.condition = [joined]
    detections.parsed_condition = [SigmaCondition(joined, detections, detections.source)]


def _convert_one(backend: Any, rule: Any, target: Target) -> tuple[str | None, tuple[str, ...]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TranslationWarning)
        if isinstance(rule, SigmaCorrelationRule):
            queries = backend.convert_correlation_rule(rule, target.format)
        else:
            queries = backend.convert_rule(rule, target.format)
            if rule._backreferences and not queries:
                # A base rule of a correlation is emitted as part of that correlation.
                return None, ()
    texts = [_as_text(q) for q in queries]
    messages = tuple(
        dict.fromkeys(  # one line per distinct warning, in order
            _warning_text(w.message, rule, target)
            for w in caught
            if issubclass(w.category, TranslationWarning)
        )
    ) + _text_field_notes(backend, rule, target) + _case_note(backend, rule, target)
    return "\n".join(texts), messages


def _case_note(backend: Any, rule: Any, target: Target) -> tuple[str, ...]:
    """The target's ``case_note`` once, naming every field the (processed) rule compares
    case-sensitively with a value that has letters (taintsigma.convert.case)."""
    if target.case_note is None or not isinstance(rule, SigmaRule):
        return ()
    from taintsigma.convert.case import case_sensitive_fields

    fields = case_sensitive_fields(rule, getattr(backend, "last_processing_pipeline", None))
    if not fields:
        return ()
    names = ", ".join(f"'{name}'" for name in fields)
    plural = "s" if len(fields) > 1 else ""
    return (f"rule {rule_id(rule)} ({target.id}): field{plural} {names}: {target.case_note}",)


def _text_field_notes(backend: Any, rule: Any, target: Target) -> tuple[str, ...]:
    """The target's ``text_field_note`` for each text field the (processed) rule searches, and
    the pipelines' ``taintsigma_field_notes`` (target field: why the query may match more or
    fewer events than the rule)."""
    if not isinstance(rule, SigmaRule):
        return ()
    pipeline = getattr(backend, "last_processing_pipeline", None)
    text_fields = declared_text_fields(pipeline) if target.text_field_note else frozenset()
    field_notes = (pipeline.vars.get(FIELD_NOTES_VAR) if pipeline is not None else None) or {}
    keyword_field = declared_keyword_field(pipeline)
    searched: set[str] = set()
    noted: set[str] = set()
    for detection in rule.detection.detections.values():
        for item in _detection_items(detection):
            field_name = item.field if item.field is not None else keyword_field
            if field_name is None:
                continue
            if field_name in text_fields:
                searched.add(field_name)
            if field_name in field_notes:
                noted.add(field_name)
    return tuple(
        f"rule {rule_id(rule)} ({target.id}): field '{name}': {target.text_field_note}"
        for name in sorted(searched)
    ) + tuple(
        f"rule {rule_id(rule)} ({target.id}): field '{name}': "
        f"{' '.join(str(field_notes[name]).split())}"
        for name in sorted(noted)
    )


# A pipeline var: {target field: why a query on it may match more, or fewer, events than the
# rule, said so}.
FIELD_NOTES_VAR = "taintsigma_field_notes"


def _detection_items(detection: SigmaDetection) -> list[SigmaDetectionItem]:
    items: list[SigmaDetectionItem] = []
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            items.extend(_detection_items(item))
        else:
            items.append(item)
    return items


def _as_text(query: object) -> str:
    if isinstance(query, str):
        return query
    return orjson.dumps(query, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def _warning_text(message: Warning | str, rule: Any, target: Target) -> str:
    text = str(message)
    prefix = f"rule {rule_id(rule)} ({target.id})"
    return text if rule_id(rule) in text else f"{prefix}: {text}"


def _wrap(
    err: Exception,
    rule: Any,
    target: Target,
    *,
    original: Any = None,
    mappings: _Mappings | None = None,
) -> TaintSigmaError:
    if isinstance(err, TaintSigmaError):
        return as_error(err, rule)
    if isinstance(err, SigmaError):
        message = ValueError.__str__(err)
    else:
        message = str(err)
    # pySigma appends "(while converting rule <path>)"; the error names the file itself.
    message = _WHILE_CONVERTING.sub("", message).strip() or type(err).__name__
    if message.startswith(UNMAPPED_MARKER) and original is not None and mappings is not None:
        message = _unmapped_message(original, mappings) or message
    # A backend refusing a feature (pySigma's text backends raise NotImplementedError for an
    # expression they lack), or a target pipeline's failure transformation (a field the SIEM
    # does not have), means a valid rule this target cannot express.
    unsupported = (
        isinstance(
            err,
            (SigmaFeatureNotSupportedByBackendError, SigmaTransformationError, NotImplementedError),
        )
        or "not supported" in message.lower()
    )
    if not unsupported and not isinstance(err, SigmaError):
        message = f"{type(err).__name__}: {message}"
    cls = UnsupportedByTarget if unsupported else ConversionError
    return cls(
        f"cannot convert for target '{target.id}': {message}",
        path=rule_path(rule),
        rule_id=rule_id(rule),
    )


# How the pipelines' refusal of a field they do not map starts (backends/*/: the
# *_unmapped_field items); the error then names the fields from the mapping data.
UNMAPPED_MARKER = "unmapped field:"


def _fields_before(rule: Any) -> tuple[Any, frozenset[str]] | None:
    """A rule's logsource and field names, as its pipeline will find them."""
    if not isinstance(rule, SigmaRule):
        return None
    from taintsigma.convert.mappings import rule_fields

    return rule.logsource, frozenset(rule_fields(rule))


class _Mappings:
    """One batch's field mappings per logsource, for the messages naming unmapped fields.

    The target's pipeline is built on the first refusal that needs it and each logsource's
    mapping read once: built per refused rule, the pipeline cost ~15 ms a rule, which on
    SigmaHQ's rules/ (2,900 Windows and cloud rules refused by each Linux target) was most of
    ``convert``'s time.
    """

    def __init__(self, target: Target, options: tuple[str, ...]) -> None:
        self._target = target
        self._options = options
        self._pipeline: Any = None
        self._by_logsource: dict[tuple[str | None, ...], dict[str, tuple[str, ...]]] = {}

    def unmapped(self, fields: frozenset[str], logsource: Any) -> list[str]:
        """Which of ``fields`` the mapping of ``logsource`` lacks, sorted."""
        from taintsigma.convert.mappings import mapping_for

        # The fields SigmaLogSource compares on (a pipeline's conditions read no others).
        key = (logsource.product, logsource.category, logsource.service, logsource.definition)
        mapping = self._by_logsource.get(key)
        if mapping is None:
            if self._pipeline is None:
                self._pipeline = self._target.build_pipeline(self._options)
            mapping = self._by_logsource[key] = mapping_for(self._pipeline, logsource)
        return sorted(f for f in fields if f not in mapping)


def _unmapped_message(before: tuple[Any, frozenset[str]], mappings: _Mappings) -> str | None:
    from taintsigma.convert.mappings import logsource_key

    logsource, searched = before
    fields = mappings.unmapped(searched, logsource)
    if not fields:
        return None
    names = ", ".join(f"'{f}'" for f in fields)
    return (
        f"field{'s' if len(fields) > 1 else ''} {names} of logsource "
        f"{logsource_key(logsource)} {'have' if len(fields) > 1 else 'has'} no mapping "
        f"in this target (see docs/taxonomy.md)"
    )


_WHILE_CONVERTING = re.compile(r"\s*\(while converting rule [^)]*\)\s*$")
