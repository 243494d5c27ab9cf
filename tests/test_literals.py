"""String literals of EQL and ES|QL, checked by things taintsigma did not write.

EQL: Elastic's ``eql`` package parses every query (bundled rules, tests/rules, the SigmaHQ Linux
corpus where it converts) and its engine finds exactly the events hostile values mean. ES|QL: a
lexical checker written from Elastic's documentation (tests/esql_lexer.py) passes every query.
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from esql_lexer import check_esql
from helpers import make_rule
from regen_golden import GOLDEN

from taintsigma import ErrorPolicy, UnsupportedByTarget, convert_rule, convert_rules, load_rules

SIGMAHQ = Path(__file__).parent / "corpus" / "sigmahq" / "rules" / "linux"
HOSTILE = [
    "a*b", "x?y", "C:\\Win", "back\\slash\\", 'say "hi"', "two\nlines", "tab\there", "cr\rlf",
    "\\*", "*", "?", "ünïcödé", "1*2", "a\\\"b", '"""', "`tick`",
]  # fmt: skip
MODIFIERS = ["", "|contains", "|startswith", "|endswith"]


def _sigma_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


@cache
def _corpus(target_id: str) -> tuple[str, ...]:
    loaded = load_rules([SIGMAHQ], on_error=ErrorPolicy.COLLECT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = convert_rules(loaded, target_id, on_error=ErrorPolicy.COLLECT)
    # A refusal (UnsupportedByTarget) is an honest answer, not a failure; any other error is.
    others = [str(e) for e in report.errors if not isinstance(e, UnsupportedByTarget)]
    assert not others, others[:3]
    return tuple(c.query for c in report.conversions)


def _goldens(ext: str) -> list[Path]:
    return sorted((GOLDEN / ext).glob(f"*.{ext}"))


# ---- ES|QL -----------------------------------------------------------------------------------


def test_the_esql_checker_rejects_what_esql_does_not_accept() -> None:
    assert check_esql('from i metadata _id | where a=="x"') == []
    assert check_esql('from i metadata _id | where a=="a\\*b"')  # \* is no ES|QL escape
    assert check_esql('from i metadata _id | where a=="two\nlines"')  # raw line break
    assert check_esql('from i metadata _id | where a like "a\\\\xb"')  # \x in a LIKE pattern
    assert check_esql("from i metadata _id | where 1a==1 and `b`==2") == []
    assert check_esql('from i metadata _id | where a=="open')
    assert check_esql('from i metadata _id | where process-name=="x"')  # needs backticks
    assert check_esql('from i metadata _id | where `process-name`=="x"') == []


@pytest.mark.parametrize("path", _goldens("esql"), ids=lambda p: p.stem)
def test_every_esql_golden_passes_the_lexical_check(path: Path) -> None:
    assert check_esql(path.read_text(encoding="utf-8").rstrip("\n")) == []


def test_every_esql_conversion_of_sigmahq_passes_the_lexical_check() -> None:
    queries = _corpus("esql")
    problems = {q: check_esql(q) for q in queries}
    assert {q: p for q, p in problems.items() if p} == {}


@pytest.mark.parametrize("modifier", MODIFIERS)
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_esql_literals_pass_the_lexical_check(value: str, modifier: str) -> None:
    rule = make_rule({"selection": {f"hostname{modifier}": _sigma_escape(value)}})
    query = convert_rule(rule, "esql")
    assert check_esql(query) == []


def test_esql_literal_star_is_a_plain_character_in_equality_and_escaped_in_like() -> None:
    # Before the fix: host.hostname=="a\*b" (an escape ES|QL does not have).
    rule = make_rule({"selection": {"hostname": "a\\*b"}})
    assert convert_rule(rule, "esql").endswith('host.hostname=="a*b"')
    rule = make_rule({"selection": {"hostname|startswith": "a\\*b"}})
    assert convert_rule(rule, "esql").endswith('starts_with(host.hostname, "a*b")')
    rule = make_rule({"selection": {"hostname": "a\\*b?"}})
    assert convert_rule(rule, "esql").endswith('host.hostname like "a\\\\*b?"')
    rule = make_rule({"selection": {"hostname": "web\nx"}})
    assert convert_rule(rule, "esql").endswith('host.hostname=="web\\nx"')


# ---- EQL -------------------------------------------------------------------------------------


def _parse_eql(query: str):
    eql = pytest.importorskip("eql", reason="Elastic's eql engine is not installed (test extra)")
    with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
        return eql.parse_query(query)


@pytest.mark.parametrize("path", _goldens("eql"), ids=lambda p: p.stem)
def test_every_eql_golden_parses_in_elastics_eql(path: Path) -> None:
    _parse_eql(path.read_text(encoding="utf-8").rstrip("\n"))


def test_every_eql_conversion_of_sigmahq_parses_in_elastics_eql() -> None:
    failures = []
    for query in _corpus("eql"):
        try:
            _parse_eql(query)
        except Exception as err:  # noqa: BLE001 - report every query that fails
            failures.append(f"{query!r}: {str(err).splitlines()[0]}")
    assert failures == []


def _eql_matches(query: str, hostname: str) -> bool:
    import eql

    parsed = _parse_eql(query)
    found: list[object] = []
    engine = eql.PythonEngine()
    engine.add_query(parsed)
    engine.add_output_hook(found.append)
    event = {
        "host": {"os": {"type": "linux"}, "hostname": hostname},
        "event": {"dataset": "system.syslog"},
    }
    engine.stream_events([eql.Event("any", 0, event)])
    return bool(found)


@pytest.mark.parametrize("modifier", MODIFIERS)
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_eql_literals_find_exactly_their_events(value: str, modifier: str) -> None:
    rule = make_rule({"selection": {f"hostname{modifier}": _sigma_escape(value)}})
    try:
        query = convert_rule(rule, "eql")
    except UnsupportedByTarget as err:
        # Refused only where EQL's ':' would read the value's own * ? \ as wildcard syntax.
        assert any(c in value for c in "*?\\"), err
        return
    upper = value.upper()
    candidates = {
        value: True,
        upper: value.lower() == upper.lower(),
        "pre" + value: modifier in ("|contains", "|endswith"),
        value + "post": modifier in ("|contains", "|startswith"),
        value.replace("*", "XX").replace("?", "Y") + "!": False,
    }
    for hostname, expected in candidates.items():
        if hostname == value.replace("*", "XX").replace("?", "Y") + "!" and modifier:
            continue  # a suffix may legitimately match endswith/contains forms
        assert _eql_matches(query, hostname) is expected, (query, hostname)


def test_eql_refuses_a_literal_star_it_cannot_match_exactly() -> None:
    # Before the fix: host.hostname:"a\*b", which Elastic's eql parser rejects.
    rule = make_rule({"selection": {"hostname": "a\\*b"}})
    with pytest.raises(UnsupportedByTarget, match="cannot match the literal"):
        convert_rule(rule, "eql")
    rule = make_rule({"selection": {"hostname|contains": "a\\*b"}})
    assert convert_rule(rule, "eql").endswith('stringContains~(host.hostname, "a*b")')


def test_bundled_and_test_rules_convert_to_parsable_eql() -> None:
    report = convert_rules(load_rules([GOLDEN.parent / "rules"]), "eql", on_error=ErrorPolicy.COLLECT)
    for conversion in report.conversions:
        _parse_eql(conversion.query)


# ---- any value arrives intact (property tests) ------------------------------------------------


def _last_string(query: str) -> str:
    from esql_lexer import tokens

    toks, problems = tokens(query)
    assert problems == []
    return [t for t in toks if t.kind == "string"][-1].value


def _unlike(pattern: str) -> str:
    """A LIKE pattern's literal text (its wildcards kept as they are, escapes removed)."""
    out, pos = [], 0
    while pos < len(pattern):
        if pattern[pos] == "\\":
            out.append(pattern[pos + 1])
            pos += 2
        else:
            out.append(pattern[pos])
            pos += 1
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=12))
def test_any_esql_value_arrives_intact(value: str) -> None:
    rule = make_rule({"selection": {"hostname": _sigma_escape(value)}})
    query = convert_rule(rule, "esql")
    assert check_esql(query) == []
    assert _last_string(query) == value  # an equality takes the value as it is
    rule = make_rule({"selection": {"hostname": _sigma_escape(value) + "?"}})
    query = convert_rule(rule, "esql")
    assert check_esql(query) == []
    pattern = _last_string(query)
    assert pattern.endswith("?") and _unlike(pattern[:-1]) == value


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=12))
def test_any_eql_contains_value_is_found(value: str) -> None:
    rule = make_rule({"selection": {"hostname|contains": _sigma_escape(value)}})
    query = convert_rule(rule, "eql")
    # It parses, and the engine finds the value inside a longer hostname.
    assert _eql_matches(query, "pre" + value + "post"), query
