"""Shared pieces of the exporters: packages, per-target queries, the Elastic query, texts."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from taintsigma.convert.conversion import Conversion, convert_rules
from taintsigma.convert.targets import Target
from taintsigma.errors import ErrorPolicy, ExportError, TaintSigmaError, UnsupportedByTarget
from taintsigma.export.elastic_fields import related_integrations, required_fields
from taintsigma.rules.loader import output_stems, rule_id
from taintsigma.rules.metadata import Duration, RuleMetadata


@dataclass(frozen=True, kw_only=True)
class RulePackage:
    """One rule packaged in one export format: the text of its file and what was said."""

    rule_id: str
    stem: str
    format: str
    extension: str
    text: str
    warnings: tuple[str, ...] = ()
    # The file name when the format has its own naming (elastic-toml: tactic prefix).
    name: str | None = None

    @property
    def filename(self) -> str:
        return self.name or f"{self.stem}.{self.extension}"


@dataclass
class ExportReport:
    """Result of a batch export: packages in rule order and per-rule errors."""

    format: str
    separator: str = "\n"
    packages: list[RulePackage] = field(default_factory=list)
    errors: list[TaintSigmaError] = field(default_factory=list)

    def text(self) -> str:
        """Every package in one text, as ``taintsigma export`` prints it without ``-o``."""
        return self.separator.join(p.text for p in self.packages)


class QuerySource:
    """Converts a collection for one of ``targets`` on first use, then answers per rule (by stem).

    Exporters ask for the query of a rule in a target; a rule the target cannot express comes
    back as its error (UnsupportedByTarget and friends) so the exporter can fall back.
    """

    def __init__(
        self,
        collection: SigmaCollection,
        targets: Mapping[str, Target],
        options: Iterable[str] = (),
    ) -> None:
        self._collection = collection
        self._targets = targets
        self._options = tuple(options)
        self._cache: dict[str, _TargetResult] = {}
        self._aliases: dict[str, str] = {}
        self._stems: dict[str, Any] | None = None

    def alias(self, exported_id: str, rule_id: str) -> None:
        """Answer for ``exported_id`` (a ``--new-ids`` id) what ``rule_id`` converted to."""
        self._aliases[exported_id] = rule_id

    def query(self, target: str, stem: str, rule_id: str) -> Conversion | TaintSigmaError:
        """The conversion of one rule for ``target``, or the error that prevented it."""
        rule_id = self._aliases.get(rule_id, rule_id)
        if target not in self._cache:
            self._cache[target] = self._run(target)
        result = self._cache[target]
        if result.broken is not None:
            # A copy per rule: the exporter names the rule on the error it gets.
            return copy.copy(result.broken)
        if stem in result.done:
            return result.done[stem]
        if rule_id in result.failed:
            return result.failed[rule_id]
        return TaintSigmaError(f"no query for target '{target}'", rule_id=rule_id)

    def rule(self, stem: str) -> Any:
        """The rule (as loaded, not processed) exported under ``stem``."""
        if self._stems is None:
            self._stems = dict(zip(output_stems(self._collection.rules), self._collection.rules))
        return self._stems[stem]

    def query_alone(self, target: str, rule: Any) -> Conversion:
        """``rule``'s query for ``target`` as if no correlation used it (raises its error)."""
        alone = copy.deepcopy(rule)
        alone._backreferences = []
        alone._output = True
        report = convert_rules(
            SigmaCollection([alone]), self._targets[target], options=self._usable(target)
        )
        return report.conversions[0]

    def mapped_fields(self, target: str, rule: Any, names: Sequence[str]) -> list[str]:
        """``names`` (taxonomy fields, e.g. a correlation's group-by) as ``target`` names them,
        mapped by its pipeline for ``rule``'s log source; a field it refuses raises."""
        if not names:
            return []
        probe = SigmaRule.from_dict(
            {
                "title": "group-by fields",
                "logsource": rule.logsource.to_dict(),
                "detection": {"fields": {name: "1" for name in names}, "condition": "fields"},
            }
        )
        try:
            self._targets[target].build_pipeline(self._usable(target)).apply(probe)
        except SigmaError as err:
            said = str(err.args[0] if err.args else err).split("\n")[0][:200]
            raise ExportError(
                f"target '{target}' cannot map the fields {list(names)}: {said}",
                rule_id=rule_id(rule),
            ) from err
        items = probe.detection.detections["fields"].detection_items
        return [item.field for item in items]

    def _usable(self, target: str) -> tuple[str, ...]:
        return tuple(o for o in self._options if o in self._targets[target].options)

    def options_for(self, target: str) -> tuple[str, ...]:
        """This export's options that ``target`` has (none when the format does not use it)."""
        return self._usable(target) if target in self._targets else ()

    def pipeline_vars(self, target: str) -> dict[str, Any]:
        """The ``vars`` of ``target``'s processing pipeline (with this export's options)."""
        loaded = self._targets[target]
        usable = tuple(o for o in self._options if o in loaded.options)
        return dict(loaded.build_pipeline(usable).vars)

    def _run(self, target: str) -> _TargetResult:
        loaded = self._targets[target]
        usable = tuple(o for o in self._options if o in loaded.options)
        try:
            report = convert_rules(
                self._collection, loaded, options=usable, on_error=ErrorPolicy.COLLECT
            )
        except TaintSigmaError as err:
            # The target itself is unusable (its backend is not installed, say): every rule
            # gets that error, and the exporter reports it per rule.
            return _TargetResult(broken=err)
        return _TargetResult(
            done={c.stem: c for c in report.conversions},
            failed={e.rule_id: e for e in report.errors if e.rule_id is not None},
        )


@dataclass
class _TargetResult:
    done: dict[str, Conversion] = field(default_factory=dict)
    failed: dict[str, TaintSigmaError] = field(default_factory=dict)
    broken: TaintSigmaError | None = None


@dataclass(frozen=True, kw_only=True)
class ElasticQuery:
    """The query of an Elastic rule: rule type, query language, text, and what was said."""

    type: str
    language: str
    query: str
    warnings: tuple[str, ...] = ()
    # Kibana's build-time fields, from the rule after the target's pipeline (elastic_fields.py).
    required_fields: tuple[dict[str, Any], ...] = ()
    related_integrations: tuple[dict[str, str], ...] = ()
    # A correlation exported as a Kibana threshold rule: its ``threshold`` object, and the
    # window each run counts over (the rule's ``from``).
    threshold: dict[str, Any] | None = None
    window: Duration | None = None


# Elastic rule type, query language, conversion target; tried in this order.
QUERY_CHAIN = (("query", "kuery", "kibana-kql"), ("eql", "eql", "eql"), ("esql", "esql", "esql"))


def elastic_query(meta: RuleMetadata, stem: str, queries: QuerySource) -> ElasticQuery:
    """KQL if the rule can be expressed in KQL, else EQL, else ES|QL (with a warning).

    The query of both Elastic formats (kibana-ndjson, elastic-toml). An error other than UnsupportedByTarget (a target that is not installed, say) is raised as
    is; if no language can express the rule, ExportError lists why for each.
    """
    reasons: list[str] = []
    for rule_type, language, target in QUERY_CHAIN:
        result = queries.query(target, stem, meta.rule_id)
        if isinstance(result, Conversion):
            said = list(result.warnings)
            if reasons:
                said.insert(
                    0,
                    f"rule {meta.rule_id}: exported as a Kibana '{rule_type}' rule because "
                    + "; ".join(reasons),
                )
            processed = processed_rules(result.rule)
            return ElasticQuery(
                type=rule_type,
                language=language,
                query=result.query,
                warnings=tuple(said),
                required_fields=tuple(required_fields(processed, queries.pipeline_vars(target))),
                related_integrations=tuple(related_integrations(processed, meta)),
            )
        if not isinstance(result, UnsupportedByTarget):
            raise result
        reasons.append(_reason(result, target))
    raise ExportError(
        "cannot be exported as a Kibana rule: " + "; ".join(reasons), rule_id=meta.rule_id
    )


def processed_rules(rule: Any) -> list[Any]:
    """The rule, or for a correlation the rules it correlates (after the pipeline)."""
    references = getattr(rule, "rules", None)
    if references is None:
        return [rule]
    found: list[Any] = []
    for reference in references:
        base = getattr(reference, "rule", None)
        if base is not None:
            found += processed_rules(base)
    return found


def description_with_guide(meta: RuleMetadata, *, include_note: bool = True) -> str:
    """The rule's description, then its false positives and investigation guide (note).

    Used by formats that have one free-text field for all of it (Splunk, Sentinel); neither
    takes ``setup``, which is Elastic-specific.
    """
    parts = [meta.description.strip()]
    if meta.false_positives:
        parts.append("False positives:\n" + "\n".join(f"- {fp}" for fp in meta.false_positives))
    if include_note and meta.note:
        parts.append(meta.note.strip())
    return "\n\n".join(parts)


def _reason(error: TaintSigmaError, target: str) -> str:
    """Why ``target`` refused the rule, phrased after its name, without the rule id."""
    text = error.message
    if error.rule_id and text.startswith(f"rule {error.rule_id}: "):
        text = text[len(f"rule {error.rule_id}: ") :]
    prefix = f"cannot convert for target '{target}': "
    text = text.removeprefix(prefix)
    if text.startswith(f"target '{target}' cannot "):
        return f"{target} {text[len(f'target {target!r} ') :]}"
    return f"{target} cannot express it ({text})"
