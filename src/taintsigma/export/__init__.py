"""Export whole detections: rule × format → a rule package a SIEM imports (query + metadata).

>>> from taintsigma import load_rules
>>> report = export_rules(load_rules(), "sentinel")
>>> report.packages[0].filename
'tainted_kernel_module_load.yaml'
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from taintsigma.errors import ErrorPolicy, ExportError, TaintSigmaError, TargetNotFoundError
from taintsigma.export.common import QUERY_CHAIN, ExportReport, QuerySource, RulePackage
from taintsigma.metadata import load_metadata
from taintsigma.rules import LoadedRules, as_error, output_stems, rule_id
from taintsigma.targets import Target, load_target


@dataclass(frozen=True, kw_only=True)
class ExportFormat:
    """An export format: its module (with ``build``), file extension and how outputs join."""

    id: str
    description: str
    module: str
    extension: str
    separator: str
    targets: tuple[str, ...]

    def join(self, texts: list[str]) -> str:
        """Several packages as one text (stdout without ``-o``)."""
        return self.separator.join(texts)

    def builder(self) -> Callable[..., tuple[str, list[str]]]:
        return importlib.import_module(self.module).build


# The conversion targets the Elastic formats take queries from, in fallback order.
ELASTIC_TARGETS = tuple(target for _, _, target in QUERY_CHAIN)
FORMATS: dict[str, ExportFormat] = {
    fmt.id: fmt
    for fmt in (
        ExportFormat(
            id="kibana-ndjson",
            description="Kibana detection rules, one JSON object per line (Kibana rule import)",
            module="taintsigma.export.kibana_ndjson", extension="ndjson", separator="\n",
            targets=ELASTIC_TARGETS,
        ),
        ExportFormat(
            id="elastic-toml",
            description="TOML of Elastic's detection-rules repository, to propose a rule upstream",
            module="taintsigma.export.elastic_toml", extension="toml", separator="\n\n",
            targets=ELASTIC_TARGETS,
        ),
        ExportFormat(
            id="splunk-savedsearches",
            description="Splunk savedsearches.conf stanzas (Enterprise Security correlation searches)",
            module="taintsigma.export.splunk_savedsearches", extension="conf", separator="\n\n",
            targets=("splunk",),
        ),
        ExportFormat(
            id="sentinel",
            description="Microsoft Sentinel scheduled analytics rule YAML (Azure-Sentinel content format)",
            module="taintsigma.export.sentinel", extension="yaml", separator="\n---\n",
            targets=("sentinel",),
        ),
    )
}  # fmt: skip
# format id -> one-line description (`taintsigma targets` lists these).
FORMAT_DESCRIPTIONS: dict[str, str] = {fmt.id: fmt.description for fmt in FORMATS.values()}


def format_ids() -> tuple[str, ...]:
    """Ids of every export format."""
    return tuple(FORMATS)


def load_format(format_id: str) -> ExportFormat:
    """The export format called ``format_id``; an unknown one raises TargetNotFoundError."""
    try:
        return FORMATS[format_id]
    except KeyError:
        from taintsigma.targets import _unknown_message

        raise TargetNotFoundError(
            _unknown_message("export format", format_id, format_ids())
        ) from None


def export_rules(
    rules: LoadedRules | SigmaCollection,
    format_id: str,
    *,
    options: Iterable[str] = (),
    on_error: ErrorPolicy = ErrorPolicy.RAISE,
) -> ExportReport:
    """Package every rule of a collection in one export format.

    Queries come from the conversion targets (``kibana-kql``, ``eql``, ``esql``, ``splunk``,
    ``sentinel``); metadata from :func:`taintsigma.metadata.load_metadata`. ``options`` are
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
    report = ExportReport(format=fmt.id)
    for rule, stem in zip(collection.rules, output_stems(collection.rules)):
        if isinstance(rule, SigmaRule) and rule._backreferences:
            continue  # emitted as part of the correlation that uses it
        try:
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


def export_rule(rule: object, format_id: str, *, options: Iterable[str] = ()) -> str:
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


def _wrap(err: Exception, rule: object, format_id: str) -> TaintSigmaError:
    if isinstance(err, TaintSigmaError):
        return as_error(err, rule)
    return ExportError(
        f"cannot export as {format_id}: {type(err).__name__}: {err}", rule_id=rule_id(rule)
    )


__all__ = [
    "FORMATS",
    "FORMAT_DESCRIPTIONS",
    "ExportFormat",
    "ExportReport",
    "RulePackage",
    "export_rule",
    "export_rules",
    "format_ids",
    "load_format",
]
