"""Stock pySigma backends never emit a query that silently changes a rule's meaning."""

from __future__ import annotations

import pytest
from helpers import make_rule

from taintsigma.convert.conversion import convert_rule
from taintsigma.errors import UnsupportedByTarget

STOCK_TARGETS = ["lucene", "eql", "esql", "splunk", "sentinel"]


@pytest.mark.parametrize("target", STOCK_TARGETS + ["kibana-kql"])
@pytest.mark.parametrize("modifier", ["minute", "hour", "day", "week", "month", "year"])
def test_compared_time_part_is_refused(target: str, modifier: str) -> None:
    # pySigma 1.5 drops the time part of `pid|hour|gte: 22` and compares the whole value (any
    # taxonomy field shows it: a field the target does not map is refused before).
    rule = make_rule({"selection": {f"pid|{modifier}|gte": 22}})
    with pytest.raises(UnsupportedByTarget, match=r"part of a timestamp") as caught:
        convert_rule(rule, target)
    assert "field '" in str(caught.value) and target in str(caught.value)


@pytest.mark.parametrize("target", STOCK_TARGETS)
@pytest.mark.parametrize("value", ["Ker*", "*nel", "K*l", "*er*"])
def test_cased_wildcard_without_a_faithful_form_is_refused(target: str, value: str) -> None:
    # EQL's case-sensitive form is `==`, which has no wildcards: `process.name == "Ker*"` would
    # only match the literal text Ker*.
    rule = make_rule({"selection": {"program|cased": value}})
    with pytest.raises(UnsupportedByTarget, match="case-sensitive") as caught:
        convert_rule(rule, target)
    assert target in str(caught.value)


def test_cased_value_without_wildcards_still_converts_for_eql() -> None:
    rule = make_rule({"selection": {"program|cased": "Kernel"}})
    assert 'process.name == "Kernel"' in convert_rule(rule, "eql")


def test_plain_comparisons_still_convert() -> None:
    rule = make_rule({"selection": {"pid|gte": 100}})
    assert "process.pid:>=100" in convert_rule(rule, "lucene")
