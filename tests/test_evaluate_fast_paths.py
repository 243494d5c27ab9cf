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


PHRASE = "verification failed: key missing - tainting kernel"
GATE_TEXTS = [
    "x " + PHRASE,
    "x " + PHRASE.upper(),  # the phrase in capitals: found case-insensitively
    "x " + PHRASE.replace(" - ", " -- "),  # the run " - " is gone: not the phrase
    "x " + PHRASE.replace(" - ", " \u2013 "),  # an en dash: non-ASCII text, folded
    "x " + PHRASE.replace("fi", "\ufb01").upper(),  # a ligature folds to "fi": found
    "x - " + "verification failed: key missing tainting kernel",  # the run, elsewhere
    PHRASE[:-1],  # one character short
    "",
]


@pytest.mark.parametrize("text", GATE_TEXTS)
def test_the_literal_gate_gives_the_rules_verdict(text: str) -> None:
    """One rule needing one literal runs behind a gate (evaluate/ruleset.py): length, then the
    literal's longest run of non-letters (" - "), then a caseless search; the same verdict as
    the rule's own matcher."""
    matcher = compile_rules([make_rule({"selection": {"message|contains": PHRASE}})])
    event = {"message": text}
    plain = bool(matcher.rules[0].node(event, {}))
    assert bool(matcher.match(event)) is plain
    assert bool(matcher.match(event)) is plain  # the rebound match (see the next test)
    assert plain is (PHRASE in text.casefold())


def test_match_keeps_every_verdict_across_log_sources() -> None:
    """After its first call ``matcher.match`` is the route of that log source itself; events of
    any other log source, None, an equal LogSource object, and the method taken before the
    first call all keep their verdicts."""
    from taintsigma.evaluate import LogSource

    matcher = compile_rules(
        [
            make_rule({"selection": {"message|contains": PHRASE}}, title="syslog"),
            make_rule(
                {"selection": {"message|contains": "session opened"}},
                logsource={"product": "linux", "service": "auth"},
                title="auth",
            ),
        ]
    )
    method = matcher.match  # the method, before any call
    syslog = LogSource(product="linux", service="syslog")
    auth = LogSource(product="linux", service="auth")
    events = [{"message": PHRASE}, {"message": "session opened for root"}, {"message": "x"}]
    expected = {  # log source -> titles per event
        "syslog": [["syslog"], [], []],
        "auth": [[], ["auth"], []],
        None: [["syslog"], ["auth"], []],
    }
    order = [syslog, auth, None, LogSource(product="linux", service="syslog"), syslog, auth]
    for source in order * 2:
        want = expected[source.service if source else None]
        for match in (matcher.match, method):
            assert [[m.title for m in match(e, source)] for e in events] == want
    assert matcher.match is not method


@pytest.mark.parametrize("rules", [1, 2, 4])  # a gated route, a direct route, an indexed one
def test_match_without_a_log_source_tries_every_rule_after_any_first_call(rules: int) -> None:
    """``match(event)`` means ``logsource=None`` (every rule) also once ``match`` is rebound to
    the route of another log source (it once defaulted to that route's log source)."""
    from taintsigma.evaluate import LogSource

    auth = {"product": "linux", "service": "auth"}
    matcher = compile_rules(
        [make_rule({"selection": {"message|contains": PHRASE}}, logsource=auth, title="auth")]
        + [make_rule({"selection": {"message|contains": f"x{i}"}}) for i in range(rules - 1)]
    )
    event = {"message": PHRASE}
    assert matcher.match(event, LogSource(product="linux", service="auditd")) == []
    assert [m.title for m in matcher.match(event)] == ["auth"]


@pytest.mark.parametrize(
    ("event", "verdict"),
    [
        ({"a": "wget x - http://h | perl"}, True),
        ({"a": "WGET X - HTTP://H | PERL"}, True),  # keywords ignore case
        ({"a": "wget x - http://h", "b": "| perl"}, False),  # the pieces in two values
        ({"a": "curl", "b": "nothing here"}, False),
        ({"a": "perl"}, False),  # the longest piece alone
        ({}, False),
    ],
)
def test_keyword_globs_behind_their_necessary_literal(event: dict, verdict: bool) -> None:
    """Keywords with wildcards inside are tried on each value only when the values' joined
    text holds one pattern's longest piece: the verdict is the per-value one."""
    rule = make_rule({"keywords": ["wget * - http* | perl", "nc -e *sh*"]}, "keywords",
                     logsource={"product": "linux", "service": "auditd"})  # every value
    assert bool(compile_rules([rule]).match(event)) is verdict


@pytest.mark.parametrize(
    ("condition", "event", "matched"),
    [
        ("a and b", {"x": "1", "y": "2"}, ("a", "b")),  # an AND of detections: known at once
        ("b and a", {"x": "1", "y": "2"}, ("b", "a")),  # in the order the condition names them
        ("a", {"x": "1", "y": "2"}, ("a",)),
        ("a or b", {"x": "1", "y": "0"}, ("a",)),  # evaluated: only a matched
        ("a and not b", {"x": "1", "y": "0"}, ("a",)),
        ("1 of *", {"x": "0", "y": "2"}, ("b",)),
    ],
)
def test_a_match_names_the_detections_that_matched(condition, event, matched) -> None:
    rule = make_rule({"a": {"x": "1"}, "b": {"y": "2"}}, condition)
    [found] = compile_rules([rule]).match(event)
    assert found.matched == matched
