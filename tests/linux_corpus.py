"""SigmaHQ's Linux rules (tests/corpus/sigmahq/rules/linux) converted for every target, once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from taintsigma.convert.conversion import ConversionReport, convert_rules
from taintsigma.errors import ErrorPolicy
from taintsigma.rules.loader import load_rules

CORPUS = Path(__file__).parent / "corpus" / "sigmahq" / "rules" / "linux"
RULE_COUNT = 210


@cache
def corpus_rules():
    return load_rules([str(CORPUS)])


@cache
def corpus_report(target: str, options: tuple[str, ...] = ()) -> ConversionReport:
    """Every corpus rule converted for ``target``; refusals collected, not raised."""
    return convert_rules(corpus_rules(), target, options=options, on_error=ErrorPolicy.COLLECT)
