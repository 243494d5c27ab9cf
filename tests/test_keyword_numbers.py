"""A number compared with a keyword field is compared as text on the Elastic targets.

Elasticsearch's EQL and ES|QL refuse a keyword field compared with a number (``user.id == 0``
is a type error there), and a keyword holds the text ``"0"`` anyway; numeric fields keep numbers.
"""

from __future__ import annotations

import pytest
from helpers import make_rule
from sigma.collection import SigmaCollection

from taintsigma import ErrorPolicy, convert_rules

AUDITD = {"product": "linux", "service": "auditd"}
NETWORK = {"product": "linux", "category": "network_connection"}


def _query(rule, target: str) -> str:
    report = convert_rules(SigmaCollection([rule]), target, on_error=ErrorPolicy.COLLECT)
    (conversion,) = report.conversions
    return conversion.query


@pytest.mark.parametrize(
    ("target", "expected"),
    [("esql", 'user.effective.id=="33"'), ("eql", 'user.effective.id:"33"')],
)
def test_a_number_on_a_keyword_field_is_text(target: str, expected: str) -> None:
    rule = make_rule({"selection": {"type": "SYSCALL", "euid": 33}}, logsource=AUDITD)
    assert expected in _query(rule, target)


@pytest.mark.parametrize(
    ("target", "expected"),
    [("esql", 'process.args=="4" or process.args=="5"'), ("eql", 'process.args:"4" or process.args:"5"')],
)
def test_numbers_listed_for_a_keyword_field_are_text(target: str, expected: str) -> None:
    rule = make_rule({"selection": {"type": "SYSCALL", "SYSCALL": "syslog", "a0": [4, 5]}},
                     logsource=AUDITD)  # fmt: skip
    query = _query(rule, target)
    assert expected in query
    assert " in (4" not in query


@pytest.mark.parametrize(
    ("target", "expected"), [("esql", "destination.port==4444"), ("eql", "destination.port == 4444")]
)
def test_a_number_on_a_numeric_field_stays_a_number(target: str, expected: str) -> None:
    rule = make_rule({"selection": {"DestinationPort": 4444}}, logsource=NETWORK)
    assert expected in _query(rule, target)
