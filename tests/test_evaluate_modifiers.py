"""Every value modifier of Sigma v2.1, each with events that must and must not match."""

from __future__ import annotations

import base64
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import make_rule

from taintsigma.errors import RuleCompileError
from taintsigma.evaluate import compile_rules


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# id, detection (``selection``), events that match, events that do not, compile options
CASES: list[tuple[str, dict[str, Any], list[dict], list[dict], dict[str, Any]]] = [
    (
        "plain-caseless",
        {"m": "Hello"},
        [{"m": "hello"}, {"m": "HELLO"}],
        [{"m": "hello!"}, {"m": "hell"}, {}],
        {},
    ),
    ("cased", {"m|cased": "Hello"}, [{"m": "Hello"}], [{"m": "hello"}, {"m": "HELLO"}], {}),
    ("contains", {"m|contains": "Ell"}, [{"m": "hello"}, {"m": "ELL"}], [{"m": "hel lo"}], {}),
    (
        "startswith",
        {"m|startswith": "He"},
        [{"m": "hello"}, {"m": "HE"}],
        [{"m": "ahe"}, {"m": "h"}],
        {},
    ),
    (
        "endswith",
        {"m|endswith": "LO"},
        [{"m": "hello"}, {"m": "lo"}],
        [{"m": "hellO!"}, {"m": "o"}],
        {},
    ),
    ("cased-contains", {"m|contains|cased": "Ell"}, [{"m": "hEll"}], [{"m": "hell"}], {}),
    (
        "all",
        {"m|contains|all": ["foo", "bar"]},
        [{"m": "bar foo"}],
        [{"m": "foo"}, {"m": "bar"}],
        {},
    ),
    ("list-is-or", {"m": ["a", "b"]}, [{"m": "a"}, {"m": "B"}], [{"m": "c"}, {"m": "ab"}], {}),
    (
        "wildcard-star",
        {"m": "a*c"},
        [{"m": "ac"}, {"m": "abbbc"}],
        [{"m": "abcd"}, {"m": "ca"}],
        {},
    ),
    (
        "wildcard-question",
        {"m": "a?c"},
        [{"m": "abc"}, {"m": "A\nC"}],
        [{"m": "ac"}, {"m": "abbc"}],
        {},
    ),
    ("wildcard-segments", {"m": "*a*b*c*"}, [{"m": "xaybzc"}, {"m": "abc"}], [{"m": "acb"}], {}),
    ("escaped-star", {"m": "a\\*c"}, [{"m": "a*c"}], [{"m": "abc"}], {}),
    ("escaped-question", {"m": "a\\?c"}, [{"m": "a?c"}], [{"m": "abc"}], {}),
    ("escaped-backslash", {"m": "a\\\\*"}, [{"m": "a\\"}, {"m": "a\\x"}], [{"m": "ax"}], {}),
    ("plain-backslash", {"m": "c:\\windows"}, [{"m": "C:\\Windows"}], [{"m": "c:/windows"}], {}),
    ("empty-string", {"m": ""}, [{"m": ""}], [{"m": "x"}, {}, {"m": None}], {}),
    ("null", {"m": None}, [{}, {"m": None}], [{"m": ""}, {"m": "x"}], {}),
    ("exists", {"m|exists": True}, [{"m": ""}, {"m": 0}], [{}, {"m": None}], {}),
    ("not-exists", {"m|exists": False}, [{}, {"m": None}], [{"m": "x"}], {}),
    ("neq", {"m|neq": "x"}, [{"m": "y"}, {}], [{"m": "x"}, {"m": "X"}], {}),
    ("neq-list", {"m|neq": ["x", "y"]}, [{"m": "z"}], [{"m": "x"}, {"m": "y"}], {}),
    (
        "number",
        {"n": 42},
        [{"n": 42}, {"n": "42"}, {"n": 42.0}],
        [{"n": 43}, {"n": "x"}, {"n": True}],
        {},
    ),
    ("bool", {"b": True}, [{"b": True}, {"b": "true"}], [{"b": False}, {"b": 1}], {}),
    ("lt", {"n|lt": 5}, [{"n": 4}, {"n": "-1"}, {"n": 4.9}], [{"n": 5}, {"n": "x"}, {}], {}),
    ("lte", {"n|lte": 5}, [{"n": 5}, {"n": "5"}], [{"n": 6}], {}),
    ("gt", {"n|gt": 5}, [{"n": 6}, {"n": "5.5"}], [{"n": 5}], {}),
    ("gte", {"n|gte": 5}, [{"n": 5}, {"n": 100}], [{"n": 4}], {}),
    ("re", {"m|re": "a.c"}, [{"m": "xabcx"}, {"m": "a-c"}], [{"m": "ABC"}, {"m": "a\nc"}], {}),
    ("re-i", {"m|re|i": "^a.c$"}, [{"m": "ABC"}], [{"m": "xabc"}], {}),
    ("re-m", {"m|re|m": "^abc$"}, [{"m": "x\nabc\ny"}], [{"m": "xabc"}], {}),
    ("re-s", {"m|re|s": "a.c"}, [{"m": "a\nc"}], [{"m": "ac"}], {}),
    ("re-contains", {"m|re|contains": "b+"}, [{"m": "abbbc"}], [{"m": "ac"}], {}),
    ("base64", {"m|base64": "hello"}, [{"m": "aGVsbG8="}], [{"m": "hello"}], {}),
    ("base64-escaped", {"m|base64": "a\\*b"}, [{"m": b64(b"a*b")}], [{"m": b64(b"a\\*b")}], {}),
    (
        "base64offset",
        {"m|base64offset|contains": "hello"},
        [{"m": b64(p + b"hello world")} for p in (b"", b"a", b"ab")],
        [{"m": b64(b"help world")}],
        {},
    ),
    (
        "utf16le",
        {"m|utf16le|base64offset|contains": "ping"},
        [{"m": b64(p + "ping -n".encode("utf-16-le"))} for p in (b"", b"\0", b"\0\0")],
        [{"m": b64(b"ping -n")}, {"m": b64("ping".encode("utf-16-be"))}],
        {},
    ),
    (
        "wide",
        {"m|wide|base64offset|contains": "pingé"},
        [{"m": b64("x pingé".encode("utf-16-le"))}],
        [{"m": b64("x pingé".encode())}],
        {},
    ),
    (
        "utf16be",
        {"m|utf16be|base64offset|contains": "ping"},
        [{"m": b64("x ping".encode("utf-16-be"))}],
        [{"m": b64(b"x ping")}, {"m": b64("pong".encode("utf-16-be"))}],
        {},
    ),
    (
        "utf16",
        {"m|utf16|base64|contains": "ping"},
        [{"m": b64("ping".encode("utf-16"))}],  # Python writes the FF FE mark first
        [{"m": b64("ping".encode("utf-16-le"))}],
        {},
    ),
    (
        "windash",
        {"m|windash|contains": " -exec "},
        [{"m": "a -exec b"}, {"m": "a /exec b"}, {"m": "a \u2013exec b"}, {"m": "a \u2014exec b"}],
        [{"m": "a exec b"}, {"m": "a +exec b"}],
        {},
    ),
    (
        "cidr",
        {"ip|cidr": ["10.0.0.0/8", "2001:db8::/32"]},
        [{"ip": "10.1.2.3"}, {"ip": "2001:db8::1"}, {"ip": ["1.1.1.1", "10.0.0.1"]}],
        [{"ip": "11.0.0.1"}, {"ip": "2001:db9::1"}, {"ip": "not an ip"}, {"ip": "::ffff:1.1.1.1"}],
        {},
    ),
    (
        "fieldref",
        {"a|fieldref": "b"},
        [{"a": "X", "b": "x"}],
        [{"a": "x", "b": "y"}, {"a": "x"}],
        {},
    ),
    (
        "fieldref-contains",
        {"a|fieldref|contains": "b"},
        [{"a": "xYz", "b": "y"}],
        [{"a": "xz", "b": "y"}],
        {},
    ),
    (
        "fieldref-startswith",
        {"a|fieldref|startswith": "b"},
        [{"a": "yx", "b": "Y"}],
        [{"a": "xy", "b": "y"}],
        {},
    ),
    (
        "fieldref-endswith",
        {"a|fieldref|endswith": "b"},
        [{"a": "xy", "b": "y"}],
        [{"a": "yx", "b": "y"}],
        {},
    ),
    ("fieldref-neq", {"a|fieldref|neq": "b"}, [{"a": "x", "b": "y"}], [{"a": "x", "b": "X"}], {}),
    (
        "expand-caller",
        {"user|expand": "%admins%"},
        [{"user": "root"}, {"user": "ADMIN"}],
        [{"user": "bob"}],
        {"placeholders": {"admins": ["root", "admin"]}},
    ),
    (
        "expand-inside",
        {"path|expand": "/home/%user%/.ssh/*"},
        [{"path": "/home/bob/.ssh/id_rsa"}],
        [{"path": "/home/eve/.ssh/id_rsa"}],
        {"placeholders": {"user": ["bob"]}},
    ),
    (
        "minute",
        {"t|minute": 17},
        [{"t": "2026-11-26T04:17:09Z"}],
        [{"t": "2026-11-26T04:18:00Z"}, {"t": "x"}],
        {},
    ),
    (
        "hour",
        {"t|hour": 4},
        [{"t": "2026-11-26T04:17:00+00:00"}, {"t": 1795666653}],
        [{"t": "2026-11-26T05:00:00Z"}],
        {},
    ),
    ("day", {"t|day": 26}, [{"t": "2026-11-26T04:17:00Z"}], [{"t": "2026-11-25T04:17:00Z"}], {}),
    ("week", {"t|week": 48}, [{"t": "2026-11-26T04:17:00Z"}], [{"t": "2026-12-26T04:17:00Z"}], {}),
    ("month", {"t|month": 11}, [{"t": "2026-11-26"}], [{"t": "2026-10-26"}], {}),
    (
        "year",
        {"t|year": 2026},
        [{"t": "2026-11-26T04:17:00Z"}, {"t": 1795666653000}],
        [{"t": "2025-11-26"}],
        {},
    ),
    (
        "hour-gte",
        {"t|hour|gte": 22},
        [{"t": "2026-11-26T23:00:00Z"}],
        [{"t": "2026-11-26T21:59:00Z"}],
        {},
    ),
]


@pytest.mark.parametrize(
    ("detection", "positives", "negatives", "options"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_modifier(
    detection: dict, positives: list[dict], negatives: list[dict], options: dict
) -> None:
    matcher = compile_rules([make_rule({"selection": detection})], **options)
    assert [bool(matcher.match(e)) for e in positives] == [True] * len(positives)
    assert [bool(matcher.match(e)) for e in negatives] == [False] * len(negatives)


def test_expand_without_values_is_an_error_naming_the_placeholder() -> None:
    rule = make_rule(
        {"selection": {"user|expand": "%admins%"}}, rule_id="0b5f0c1e-0000-4000-8000-000000000003"
    )
    with pytest.raises(
        RuleCompileError, match=r"0b5f0c1e-0000-4000-8000-000000000003: placeholder %admins%"
    ):
        compile_rules([rule])


def test_expand_takes_values_from_the_pipeline_vars() -> None:
    from sigma.processing.pipeline import ProcessingPipeline

    pipeline = ProcessingPipeline(vars={"admins": ["root", "toor"]})
    matcher = compile_rules([make_rule({"selection": {"user|expand": "%admins%"}})], pipeline)
    assert matcher.match({"user": "toor"}) and not matcher.match({"user": "bob"})


def test_utf16le_is_a_known_modifier_after_importing_the_evaluator() -> None:
    from sigma.modifiers import modifier_mapping

    assert "utf16le" in modifier_mapping


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail a test that hangs instead of blocking the suite (a guard, not a timing)."""

    def hang(signum: int, frame: object) -> None:
        raise TimeoutError("the match did not finish")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_catastrophic_backtracking_pattern_cannot_hang_a_match(alarm: None) -> None:
    matcher = compile_rules([make_rule({"selection": {"m|re": "(a+)+$"}})])
    hostile = "a" * 10_000 + "b"
    assert matcher.match({"m": hostile}) == []
    assert len(matcher.match({"m": "a" * 10_000})) == 1
