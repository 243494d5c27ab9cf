"""Export whole detections: rule × format → a rule package a SIEM imports (query + metadata).

>>> from taintsigma import load_rules
>>> report = export_rules(load_rules(), "sentinel")
>>> report.packages[0].filename
'tainted_kernel_module_load.yaml'
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterable, Mapping

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule, SigmaRuleBase

from taintsigma.convert.targets import Target, load_target
from taintsigma.errors import ErrorPolicy, ExportError, TaintSigmaError, TargetNotFoundError
from taintsigma.export.common import ExportReport, QuerySource, RulePackage
from taintsigma.export.formats import ExportFormat, load_format
from taintsigma.export.logsources import with_logsource_index
from taintsigma.rules.batch import clone
from taintsigma.rules.loader import (
    LoadedRules,
    as_error,
    output_stems,
    rule_id,
    shared_id_message,
    shared_ids,
)
from taintsigma.rules.metadata import RuleMetadata, load_metadata

# --new-ids: uuid5(NEW_ID_NAMESPACE, original id). Fixed forever: the same rule always gets the
# same new id, so a re-import updates the rule it created instead of adding another.
NEW_ID_NAMESPACE = uuid.UUID("cc18fb44-f515-45f8-a7f3-e7b5fd51f0d6")


def new_rule_id(rule_id: str) -> str:
    """The stable id ``--new-ids`` exports a rule under.

    >>> new_rule_id("05cad2fb-200c-407f-b472-02ea8c9e5e4a")
    '8cc354e5-9e0d-5d20-8d88-51841b3e8537'
    """
    return str(uuid.uuid5(NEW_ID_NAMESPACE, rule_id.lower()))


def export_rules(
    rules: LoadedRules | SigmaCollection,
    format_id: str,
    *,
    options: Iterable[str] = (),
    on_error: ErrorPolicy = ErrorPolicy.RAISE,
    new_ids: bool = False,
) -> ExportReport:
    """Package every rule of a collection in one export format.

    Queries come from the conversion targets (``kibana-kql``, ``eql``, ``esql``, ``splunk``,
    ``sentinel``); metadata from :func:`taintsigma.rules.metadata.load_metadata`. ``options`` are
    target options (e.g. ``elastic-agent``) passed to the targets that have them. A rule that
    cannot be packaged raises ExportError (or, with ``on_error=ErrorPolicy.COLLECT``, lands in
    ``report.errors``). Base rules of a correlation are packaged with their correlation.
    ``new_ids=True`` exports every rule under :func:`new_rule_id` of its id (for a SIEM that
    already holds the original, e.g. Elastic's prebuilt rule).
    """
    fmt = load_format(format_id)
    targets = {target: load_target(target) for target in fmt.targets}
    _check_options(fmt, targets, tuple(options))
    build = fmt.builder()
    collection = rules.collection if isinstance(rules, LoadedRules) else rules
    queries = QuerySource(collection, targets, options)
    report = ExportReport(format=fmt.id, separator=fmt.separator)
    # Two packages with one rule_id would overwrite each other in the SIEM: the later is refused.
    duplicates = {id(rule): first for rule, first in shared_ids(collection.rules)}
    for rule, stem in zip(collection.rules, output_stems(collection.rules)):
        if isinstance(rule, SigmaRule) and rule._backreferences:
            continue  # emitted as part of the correlation that uses it
        try:
            if id(rule) in duplicates:
                raise ExportError(shared_id_message(duplicates[id(rule)]))
            package = _export_one(rule, stem, fmt, build, queries, new_ids)
        except Exception as err:  # every failure becomes one line naming the rule
            error = _wrap(err, rule, fmt.id)
            if on_error is ErrorPolicy.RAISE:
                raise error from err
            if error is not err:
                error.__cause__ = err  # --debug shows where it came from
            report.errors.append(error)
            continue
        report.packages.append(package)
    return report


def export_rule(
    rule: SigmaRule | SigmaCorrelationRule,
    format_id: str,
    *,
    options: Iterable[str] = (),
    new_ids: bool = False,
) -> str:
    """The package text of a single rule in one format (raises ExportError if it cannot)."""
    report = export_rules(
        SigmaCollection([clone(rule)]), format_id, options=options, new_ids=new_ids
    )
    return report.packages[0].text


def _check_options(
    fmt: ExportFormat, targets: Mapping[str, Target], options: tuple[str, ...]
) -> None:
    known = {name for target in targets.values() for name in target.options}
    for name in options:
        if name not in known:
            raise TargetNotFoundError(
                f"export format '{fmt.id}' has no option '{name}' "
                f"(its options: {', '.join(sorted(known)) or 'none'})"
            )


def _export_one(
    rule: object,
    stem: str,
    fmt: ExportFormat,
    build: Callable[..., tuple[str, list[str]]],
    queries: QuerySource,
    new_ids: bool,
) -> RulePackage:
    meta = with_logsource_index(load_metadata(rule), queries.options_for("esql"))
    if new_ids:
        meta = _renamed(meta, queries)
    text, said = build(meta=meta, stem=stem, queries=queries)
    namer = fmt.namer()
    return RulePackage(
        rule_id=meta.rule_id,
        stem=stem,
        format=fmt.id,
        extension=fmt.extension,
        text=text,
        warnings=tuple(dict.fromkeys([*meta.warnings, *said])),
        name=namer(meta, stem) if namer is not None else None,
    )


def _renamed(meta: RuleMetadata, queries: QuerySource) -> RuleMetadata:
    fresh = new_rule_id(meta.rule_id)
    queries.alias(fresh, meta.rule_id)
    return dataclasses.replace(meta, rule_id=fresh)


def _wrap(err: Exception, rule: SigmaRuleBase, format_id: str) -> TaintSigmaError:
    if isinstance(err, TaintSigmaError):
        return as_error(err, rule)
    return ExportError(
        f"cannot export as {format_id}: {type(err).__name__}: {err}", rule_id=rule_id(rule)
    )
