"""The evaluator's fast paths give the verdicts of the plain ones."""

from __future__ import annotations

import pytest
from helpers import make_rule

from taintsigma.evaluate import compile_rules

CASES = [  # keywords, event, verdict
    (["foo"], {"a": "xFOo", "b": "y"}, True),
    (["foo"], {"a": "xfo", "b": "oy"}, False),  # never across two values
    (["foo", "bar"], {"a": ["1", "2", "a bar"]}, True),
    (["foo"], {"a": 1, "b": None}, False),
    (["1"], {"a": 1}, True),  # numbers are searched as text
    (["foo"], {}, False),
    (["a\0b"], {"x": "a", "y": "b"}, False),  # a NUL keyword: searched value by value
    (["a\0b"], {"x": "a\0b"}, True),
    (["fo*o"], {"a": "fo", "b": "o"}, False),  # a wildcard keyword: value by value
]


@pytest.mark.parametrize(("keywords", "event", "verdict"), CASES)
def test_keywords_over_every_value(keywords: list[str], event: dict, verdict: bool) -> None:
    rule = make_rule({"keywords": keywords}, "keywords", logsource={"service": "auditd"})
    matcher = compile_rules([rule])
    joined = all("\0" not in k and "*" not in k for k in keywords)
    assert matcher.rules[0].node.__name__ == ("anywhere_joined" if joined else "anywhere")
    assert bool(matcher.match(event)) is verdict
