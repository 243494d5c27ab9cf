"""Evaluator details: one case fold for rule and event, decimal numerals only, RE2's `$`."""

from __future__ import annotations

import pytest
from helpers import make_rule

from taintsigma.evaluate import compile_rules


def _matches(detection: dict, event: dict) -> bool:
    return bool(compile_rules([make_rule(detection)]).match(event))


@pytest.mark.parametrize(
    ("modifier", "value", "text"),
    [
        ("|contains", "Σ", "ΟΔΟΣ"),  # final sigma: lower() gives ς, unequal to σ
        ("|endswith", "σ", "ΟΔΟΣ"),
        ("|contains", "οδοσ", "ΟΔΟΣ"),
        ("", "ΟΔΟΣ", "οδος"),
        ("", "strasse", "STRAßE"),
        ("|startswith", "ss", "ßa"),
    ],
)
def test_one_case_fold_for_rule_and_event(modifier: str, value: str, text: str) -> None:
    # Before the fix: str.lower() on both sides missed every one of these.
    assert _matches({"selection": {f"f{modifier}": value}}, {"f": text})


def test_case_fold_in_the_literal_gate_of_many_rules() -> None:
    # Many rules on one field go through the rule set's literal gate (evaluate/ruleset.py).
    rules = [make_rule({"selection": {"f|contains": f"Σ{i}"}}) for i in range(40)]
    rules.append(make_rule({"selection": {"f|contains": "Σ"}}, title="sigma"))
    matcher = compile_rules(rules)
    hits = [m.rule.title for m in matcher.match({"f": "ΟΔΟΣ"})]
    assert hits == ["sigma"]


@pytest.mark.parametrize("text", ["inf", "Infinity", "nan", "1_0", "٣", "0x10", ""])
def test_gt_matches_only_decimal_numerals(text: str) -> None:
    # Before the fix: float("inf") > 5 and int("1_0") == 10 matched.
    assert not _matches({"selection": {"n|gt": 5}}, {"n": text})


@pytest.mark.parametrize("text", ["6", " 10 ", "5.5", "1e3", "+7"])
def test_gt_matches_numeric_text(text: str) -> None:
    assert _matches({"selection": {"n|gt": 5}}, {"n": text})


def test_re2_dollar_does_not_match_before_a_final_newline() -> None:
    # Documented (docs/evaluator.md): RE2's $ is the end of the text; Python's re would match.
    assert not _matches({"selection": {"f|re": "a$"}}, {"f": "a\n"})
    assert _matches({"selection": {"f|re": "a$"}}, {"f": "xa"})
