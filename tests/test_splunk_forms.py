"""Splunk SPL: no engine runs here, so each form is pinned by its edge cases.

docs/semantics.md ("Splunk SPL, form by form") gives the Splunk documentation behind each form.
"""

from __future__ import annotations

import warnings

import pytest
from helpers import make_rule

from taintsigma import TranslationWarning, UnsupportedByTarget, convert_rule, convert_rules
from sigma.collection import SigmaCollection

BASE = 'sourcetype="syslog" '


def _splunk(detection: dict, condition: str = "selection") -> tuple[str, list[str]]:
    rule = make_rule(detection, condition)
    report = convert_rules(SigmaCollection([rule]), "splunk")
    [conversion] = report.conversions
    return conversion.query, list(conversion.warnings)


def test_question_mark_is_widened_with_a_warning() -> None:
    # Before the fix: process="ker*el" and no warning.
    query, warned = _splunk({"selection": {"program": "ker?el"}})
    assert query == BASE + 'process="ker*el"'
    assert len(warned) == 1 and "no single-character wildcard" in warned[0]


def test_question_mark_under_not_is_refused() -> None:
    # Before the fix: NOT process="ker*el", which drops events the rule keeps (e.g. 'kerXXel').
    rule = make_rule(
        {"selection": {"hostname": "web01"}, "filter": {"program": "ker?el"}},
        "selection and not filter",
    )
    with pytest.raises(UnsupportedByTarget, match="under 'not'"):
        convert_rule(rule, "splunk")


def test_star_stays_a_wildcard_and_a_literal_star_is_refused() -> None:
    query, warned = _splunk({"selection": {"program|startswith": "cron"}})
    assert (query, warned) == (BASE + 'process="cron*"', [])
    rule = make_rule({"selection": {"program": "a\\*b"}})
    with pytest.raises(UnsupportedByTarget, match="literal '\\*'"):
        convert_rule(rule, "splunk")


def test_backslash_and_quote_are_escaped_inside_quotes() -> None:
    query, _ = _splunk({"selection": {"hostname": 'a\\\\b"c'}})
    assert query == BASE + 'host="a\\\\b\\"c"'


def test_message_in_raw_is_warned_as_broader() -> None:
    # Before the fix: no warning, although _raw also holds the syslog header.
    query, warned = _splunk({"selection": {"message|contains": "web1"}})
    assert query == BASE + '("web1" _raw="*web1*")'
    assert len(warned) == 1 and "syslog header" in warned[0]


def test_message_contains_gets_an_index_phrase_only_on_word_ends() -> None:
    # The bare quoted phrase lets Splunk's index narrow the search (a leading wildcard cannot);
    # the _raw glob keeps the exact substring test. Only values whose ends are letters or
    # digits get one (read as whole words, as on Elasticsearch's text fields).
    query, _ = _splunk({"selection": {"message|contains": 'say "hi" now'}})
    assert query == BASE + '("say \\"hi\\" now" _raw="*say \\"hi\\" now*")'
    query, _ = _splunk({"selection": {"message|contains": "/bin/sh "}})
    assert query == BASE + '_raw="*/bin/sh *"'
    query, _ = _splunk({"selection": {"program": "sshd"}, "other": {"message|contains": "web1"}},
                       "selection or other")  # fmt: skip
    assert query == BASE + 'process="sshd" OR ("web1" _raw="*web1*")'


def test_message_in_raw_under_not_is_refused() -> None:
    # Before the fix: NOT _raw="*web1*", which also drops events from host web1.
    rule = make_rule(
        {"selection": {"program": "sshd"}, "filter": {"message|contains": "web1"}},
        "selection and not filter",
    )
    with pytest.raises(UnsupportedByTarget, match="under 'not'"):
        convert_rule(rule, "splunk")


def test_keywords_search_the_raw_event_and_are_refused_under_not() -> None:
    query, warned = _splunk({"keywords": ["segfault"]}, "keywords")
    assert query == BASE + '"segfault"'
    assert len(warned) == 1 and "raw event" in warned[0]
    rule = make_rule({"selection": {"program": "sshd"}, "keywords": ["x"]}, "selection and not keywords")
    with pytest.raises(UnsupportedByTarget, match="under 'not'"):
        convert_rule(rule, "splunk")


def test_not_of_an_exact_field_is_kept() -> None:
    query, warned = _splunk(
        {"selection": {"program": "sshd"}, "filter": {"hostname": "web01"}},
        "selection and not filter",
    )
    assert (query, warned) == (BASE + 'process="sshd" NOT host="web01"', [])


def test_regex_on_the_message_is_refused() -> None:
    # An anchored or whole-value test on _raw would be anchored to the syslog header.
    rule = make_rule({"selection": {"message|re": "^Accepted"}})
    with pytest.raises(UnsupportedByTarget, match="only be matched with 'contains'"):
        convert_rule(rule, "splunk")


def test_other_targets_keep_the_question_mark() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", TranslationWarning)
        assert convert_rule(make_rule({"selection": {"program": "ker?el"}}), "lucene").endswith(
            "process.name:ker?el"
        )
