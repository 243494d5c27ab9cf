"""What a scan counts: lines read, skipped, parsed, unparsable, damaged, and alerts per rule."""

from __future__ import annotations

from dataclasses import dataclass, field

from taintsigma.errors import TaintSigmaError
from taintsigma.logs.inputs import InputProblem

# Distinct reasons for unparsable or damaged lines kept per input; the rest are "other reasons".
MAX_REASONS = 20


@dataclass
class FileSummary:
    """What scanning one input found.

    Every line read is counted once: ``lines == skipped + blank + joined + events + unparsed``
    (``skipped`` by the prefilter, ``blank`` lines, lines ``joined`` to the line before them
    as one multi-line event).
    """

    path: str
    format: str | None = None
    lines: int = 0
    skipped: int = 0
    events: int = 0
    unparsed: int = 0
    truncated: int = 0
    alerts: int = 0
    damaged: int = 0  # lines kept as events though part of them was damaged (Unparsed.kept)
    derived: int = 0  # events built from others (process_creation from audit, Sysmon)
    reasons: dict[str, int] = field(default_factory=dict)  # why unparsable/damaged: count
    blank: int = 0
    joined: int = 0


@dataclass
class ScanSummary:
    """Totals of a scan: inputs, lines read, skipped by the prefilter, parsed, alerts per rule.

    ``alerts_per_rule`` maps rule id to ``(rule name, count)``; ``problems`` holds every input
    that could not be read (errors) or was skipped on purpose (notes).
    """

    files: list[FileSummary] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)
    alerts_per_rule: dict[str, tuple[str, int]] = field(default_factory=dict)
    rule_errors: list[TaintSigmaError] = field(default_factory=list)
    rules: int = 0

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    @property
    def events(self) -> int:
        return sum(f.events for f in self.files)

    @property
    def unparsed(self) -> int:
        return sum(f.unparsed for f in self.files)

    @property
    def truncated(self) -> int:
        return sum(f.truncated for f in self.files)

    @property
    def derived(self) -> int:
        return sum(f.derived for f in self.files)

    @property
    def damaged(self) -> int:
        return sum(f.damaged for f in self.files)

    @property
    def reasons(self) -> dict[str, int]:
        """Why lines were unparsable or damaged, with how many, most frequent first."""
        total: dict[str, int] = {}
        for summary in self.files:
            for reason, count in summary.reasons.items():
                total[reason] = total.get(reason, 0) + count
        return dict(sorted(total.items(), key=lambda item: -item[1]))

    @property
    def blank(self) -> int:
        return sum(f.blank for f in self.files)

    @property
    def joined(self) -> int:
        return sum(f.joined for f in self.files)

    @property
    def alerts(self) -> int:
        return sum(count for _, count in self.alerts_per_rule.values())

    @property
    def errors(self) -> list[InputProblem]:
        return [p for p in self.problems if p.error]
