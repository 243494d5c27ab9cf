"""Run each rule's own sample events: positives must match, negatives must not, per engine.

Sample events live beside a rule file in ``<rule file stem>.events/positive/`` and
``negative/``: log files in any scan input format, every event of which must (positive) or
must not (negative) match the rule. The native evaluator judges every event through the very
path ``taintsigma scan`` takes (adapter, prefilter, compiled rule); Elastic's ``eql`` Python
engine judges the ECS events against the rule's EQL conversion, where it is installed.

Where the eql Python engine differs from Elasticsearch in a documented way (docs/evaluator.md,
"Known differences") and the rule uses that construct, an eql verdict that disagrees is
counted as excused, with the difference named, not as a failure. A rule with no positive
sample event (no ``.events`` folder, an empty ``positive/``) fails: there is nothing to test.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taintsigma.errors import ErrorPolicy, TaintSigmaError
from taintsigma.logs.event import Event
from taintsigma.rules.loader import EVENTS_SUFFIX, LoadedRules, load_rules, rule_id, rule_path
from taintsigma.scan.routing import CompiledRules, compile_for_scan

KINDS = ("positive", "negative")
# Formats whose events are in the rule's own field names (as are derived events), not ECS's:
# the EQL conversion, written for ECS documents, cannot judge them.
SIGMA_NAMED_FORMATS = frozenset({"json", "auditd"})


@dataclass(frozen=True)
class SampleFailure:
    """One sample event an engine judged wrongly."""

    rule_id: str
    engine: str
    path: str
    line: int
    expected: bool

    def __str__(self) -> str:
        wanted = "positive event not matched" if self.expected else "negative event matched"
        return f"{self.path}:{self.line}: rule {self.rule_id}: {wanted} by {self.engine}"


@dataclass
class RuleSamples:
    """The outcome for one rule: events judged per engine, failures, skipped engines."""

    rule_id: str
    title: str
    positives: int = 0
    negatives: int = 0
    judged: dict[str, int] = field(default_factory=dict)
    failures: list[SampleFailure] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # engine -> documented differences that excused its disagreeing verdicts, and how many
    excused: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    # why the rule cannot be tested (no positive sample event, an empty folder); "" if it can
    untested: str = ""

    @property
    def has_samples(self) -> bool:
        return bool(self.positives or self.negatives or self.problems)


@dataclass
class SampleReport:
    """Per-rule outcomes of :func:`check_samples`; ``errors`` are rules that could not load."""

    rules: list[RuleSamples] = field(default_factory=list)
    errors: list[TaintSigmaError] = field(default_factory=list)

    @property
    def failures(self) -> list[SampleFailure]:
        return [f for r in self.rules for f in r.failures]

    @property
    def problems(self) -> list[str]:
        return [p for r in self.rules for p in r.problems]

    @property
    def untested(self) -> list[RuleSamples]:
        """Rules without a positive sample event: a failed check, not a pass."""
        return [r for r in self.rules if r.untested]


def sample_files(rule_file: Path) -> Iterator[tuple[str, Path]]:
    """``(kind, file)`` for every sample log of a rule file, sorted, kind positive/negative."""
    folder = rule_file.parent / f"{rule_file.stem}{EVENTS_SUFFIX}"
    for kind in KINDS:
        base = folder / kind
        if base.is_dir():
            for path in sorted(p for p in base.rglob("*") if p.is_file()):
                if not path.name.startswith("."):
                    yield kind, path


def check_samples(rules: LoadedRules | list[Path | str] | None = None) -> SampleReport:
    """Judge every rule's sample events with the native evaluator and, if installed, eql.

    >>> report = check_samples()        # the bundled rules
    >>> report.failures
    []
    """
    loaded = (
        rules if isinstance(rules, LoadedRules) else load_rules(rules, on_error=ErrorPolicy.COLLECT)
    )
    report = SampleReport(errors=list(loaded.errors))
    for rule in loaded:
        path = rule_path(rule)
        if path is None or not hasattr(rule, "detection"):
            continue
        outcome = RuleSamples(rule_id=rule_id(rule), title=rule.title)
        report.rules.append(outcome)
        samples = list(sample_files(path))
        outcome.untested = _missing_samples(path, samples)
        if not samples:
            continue
        eql = _EqlJudge(rule)
        compiled = compile_for_scan([rule])  # compiled on first use, once per event schema
        for kind, sample in samples:
            _judge_file(compiled, kind == "positive", sample, outcome, eql)
        if eql.skipped:
            outcome.skipped["eql"] = eql.skipped
        elif not outcome.judged.get("eql") and not outcome.excused.get("eql"):
            outcome.skipped["eql"] = "no sample event in ECS field names"
        if not outcome.untested and not outcome.positives and not outcome.problems:
            outcome.untested = f"no positive sample event in {_folder(path) / 'positive'}"
    return report


def _folder(rule_file: Path) -> Path:
    return rule_file.parent / f"{rule_file.stem}{EVENTS_SUFFIX}"


def _missing_samples(rule_file: Path, samples: list[tuple[str, Path]]) -> str:
    """Why a rule's sample folders cannot test it, or "" when they can."""
    folder = _folder(rule_file)
    if not folder.is_dir():
        return f"no sample events: create {folder / 'positive'} with events the rule must match"
    kinds = {kind for kind, _ in samples}
    if "positive" not in kinds:
        return f"no positive sample file in {folder / 'positive'}"
    if (folder / "negative").is_dir() and "negative" not in kinds:
        return f"empty sample folder {folder / 'negative'}"
    return ""


def _judge_file(
    rules: CompiledRules, expected: bool, sample: Path, outcome: RuleSamples, eql: _EqlJudge
) -> None:
    from taintsigma.logs.event import Unparsed
    from taintsigma.scan.run import read_events, scan_paths, sniff_path

    try:
        format_name = sniff_path(sample)
        items = list(read_events(sample, timezone="UTC"))
    except TaintSigmaError as err:
        outcome.problems.append(str(err))
        return
    events = [item for item in items if isinstance(item, Event)]
    for item in items:
        if isinstance(item, Unparsed):
            outcome.problems.append(f"{item.origin}: sample line cannot be parsed: {item.reason}")
    if expected:
        outcome.positives += len(events)
    else:
        outcome.negatives += len(events)
    scan = scan_paths([sample], rules, timezone="UTC", jobs=1)
    matched = {alert.origin.line for alert in scan if alert.origin is not None}
    for problem in [*scan.summary.problems, *scan.summary.rule_errors]:
        outcome.problems.append(str(problem))
    for event in events:
        line = event.origin.line if event.origin else 0
        _record(outcome, "native", expected, line in matched, str(sample), line)
        if format_name not in SIGMA_NAMED_FORMATS and not event.derived:
            verdict = eql.verdict(event.fields)
            if verdict is not None:
                if verdict != expected and eql.differences:
                    count, _ = outcome.excused.get("eql", (0, ()))
                    outcome.judged["eql"] = outcome.judged.get("eql", 0) + 1
                    outcome.excused["eql"] = (count + 1, eql.differences)
                    continue
                _record(outcome, "eql", expected, verdict, str(sample), line)


def _record(
    outcome: RuleSamples, engine: str, expected: bool, got: bool, path: str, line: int
) -> None:
    outcome.judged[engine] = outcome.judged.get(engine, 0) + 1
    if got != expected:
        outcome.failures.append(SampleFailure(outcome.rule_id, engine, path, line, expected))


class _EqlJudge:
    """Elastic's eql Python engine on the rule's EQL conversion; ``skipped`` says why not."""

    def __init__(self, rule: Any) -> None:
        self.rule = rule
        self.skipped = ""
        # The eql engine's documented differences this rule's constructs meet.
        self.differences = eql_engine_differences(rule)
        self._query: Any = None
        self._ready = False

    def _prepare(self) -> None:
        self._ready = True
        try:
            import eql
        except ImportError:
            self.skipped = "eql is not installed (pip install 'taintsigma[test]')"
            return
        from taintsigma.convert.conversion import convert_rule

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                text = convert_rule(self.rule, "eql")
            with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
                self._query = eql.parse_query(text)
        except (TaintSigmaError, eql.EqlError) as err:
            self.skipped = f"no EQL query: {str(err).splitlines()[0]}"

    def verdict(self, fields: Mapping[str, Any]) -> bool | None:
        """True/False as the eql engine decides, None when it cannot judge."""
        if not self._ready:
            self._prepare()
        if self._query is None:
            return None
        import eql

        found: list[Any] = []
        engine = eql.PythonEngine()
        engine.add_query(self._query)
        engine.add_output_hook(found.append)
        engine.stream_events([eql.Event.from_data(_nested(fields))])
        return bool(found)


def eql_engine_differences(rule: Any) -> tuple[str, ...]:
    """The documented differences of Elastic's eql Python engine (docs/evaluator.md, "Known
    differences") that apply to a rule's constructs; the same ones the differential tests
    exclude by name."""
    from sigma.modifiers import SigmaCaseSensitiveModifier
    from sigma.rule import SigmaDetection
    from sigma.types import (
        SigmaBool,
        SigmaCompareExpression,
        SigmaNumber,
        SigmaRegularExpression,
        SigmaString,
        SpecialChars,
    )

    found: dict[str, None] = {}

    def walk(detection: Any) -> None:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                walk(item)
                continue
            if any(issubclass(m, SigmaCaseSensitiveModifier) for m in item.modifiers):
                found["eql engine: '==' ignores case"] = None
            for value in item.value:
                if isinstance(value, SigmaString) and SpecialChars.WILDCARD_SINGLE in value.s:
                    found["eql engine: ':' knows only the '*' wildcard"] = None
                elif isinstance(value, SigmaRegularExpression):
                    found["eql engine: 'regex' ignores case"] = None
                elif isinstance(value, SigmaBool):
                    found["eql engine: ':' rejects a boolean"] = None
                elif isinstance(value, (SigmaNumber, SigmaCompareExpression)):
                    found["eql engine: compares numeric text as text"] = None

    detections = getattr(rule, "detection", None)
    if detections is None:
        return ()
    for detection in detections.detections.values():
        walk(detection)
    if any("not" in condition.split() for condition in detections.condition):
        found["eql engine: a missing field is null, and 'not (null : x)' is not true"] = None
    return tuple(found)


def _nested(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Flat dotted keys (``process.name``) as nested objects, as Elasticsearch sees them."""
    result: dict[str, Any] = {}
    for key, value in fields.items():
        value = _nested(value) if isinstance(value, Mapping) else value
        target = result
        parts = key.split(".") if key != "@timestamp" else [key]
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        if isinstance(value, dict) and isinstance(target.get(parts[-1]), dict):
            target[parts[-1]].update(value)
        else:
            target[parts[-1]] = value
    return result
