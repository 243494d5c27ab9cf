"""savedsearches.conf: a rule title with a line break still gives a one-line stanza header."""

from __future__ import annotations

from helpers import make_rule
from sigma.collection import SigmaCollection

from taintsigma.export.run import export_rules


def test_line_break_in_title_keeps_the_stanza_header_on_one_line() -> None:
    rule = make_rule(
        {"selection": {"program": "sshd"}},
        title="Two\nlines\r\nof title",
        rule_id="5c7a2a0e-2f4b-4b59-9d0e-3a9f6c1d2e01",
        description="d",
        level="low",
    )
    [package] = export_rules(SigmaCollection([rule]), "splunk-savedsearches").packages
    lines = package.text.split("\n")
    assert lines[0] == "[Two lines of title - 5c7a2a0e-2f4b-4b59-9d0e-3a9f6c1d2e01]"
    # Every other line is a key = value, or the continuation of one ending in a backslash.
    for previous, line in zip(lines[1:], lines[2:]):
        assert " = " in line or previous.endswith("\\"), line
