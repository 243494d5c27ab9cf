"""Export whole detections: rule × format → a rule package a SIEM imports (query + metadata).

>>> from taintsigma import load_rules
>>> report = export_rules(load_rules(), "sentinel")
>>> report.packages[0].filename
'tainted_kernel_module_load.yaml'
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule, SigmaRuleBase

from taintsigma.convert.targets import Target, load_target
from taintsigma.errors import ErrorPolicy, ExportError, TaintSigmaError, TargetNotFoundError
from taintsigma.export.common import ExportReport, QuerySource, RulePackage
from taintsigma.export.formats import ExportFormat, load_format
from taintsigma.rules.loader import (
    LoadedRules,
    as_error,
    output_stems,
    rule_id,
    shared_id_message,
    shared_ids,
)
from taintsigma.rules.metadata import load_metadata


def export_rules(
    rules: LoadedRules | SigmaCollection,
    format_id: str,
    *,
    options: Iterable[str] = (),
    on_error: ErrorPolicy = ErrorPolicy.RAISE,
) -> ExportReport:
    """Package every rule of a collection in one export format.

    Queries come from the conversion targets (``kibana-kql``, ``eql``, ``esql``, ``splunk``,
    ``sentinel``); metadata from :func:`taintsigma.rules.metadata.load_metadata`. ``options`` are
    target options (e.g. ``elastic-agent``) passed to the targets that have them. A rule that
    cannot be packaged raises ExportError (or, with ``on_error=ErrorPolicy.COLLECT``, lands in
    ``report.errors``). Base rules of a correlation are packaged with their correlation.
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
            package = _export_one(rule, stem, fmt, build, queries)
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
    rule: SigmaRule | SigmaCorrelationRule, format_id: str, *, options: Iterable[str] = ()
) -> str:
    """The package text of a single rule in one format (raises ExportError if it cannot)."""
    report = export_rules(SigmaCollection([copy.deepcopy(rule)]), format_id, options=options)
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
) -> RulePackage:
    meta = load_metadata(rule)
    text, said = build(meta=meta, stem=stem, queries=queries)
    return RulePackage(
        rule_id=meta.rule_id,
        stem=stem,
        format=fmt.id,
        extension=fmt.extension,
        text=text,
        warnings=tuple(dict.fromkeys([*meta.warnings, *said])),
    )


def _wrap(err: Exception, rule: SigmaRuleBase, format_id: str) -> TaintSigmaError:
    if isinstance(err, TaintSigmaError):
        return as_error(err, rule)
    return ExportError(
        f"cannot export as {format_id}: {type(err).__name__}: {err}", rule_id=rule_id(rule)
    )
