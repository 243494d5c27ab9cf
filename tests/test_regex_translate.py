"""taintsigma.convert.regex_translate: Sigma ``re`` searches as whole-value Lucene regexps.

The translations are checked by a Lucene-free model here (a Lucene regexp, read as a Python
full match, once Lucene's escapes are Python's too) and by real Lucene in
tests/test_lucene_engine.py.
"""

from __future__ import annotations

import re

import pytest
from helpers import make_rule
from hypothesis import given, settings
from hypothesis import strategies as st

from taintsigma import convert_rule
from taintsigma.convert.regex_translate import RegexNotTranslatable, translate_regex
from taintsigma.errors import TaintSigmaError, UnsupportedByTarget

LF = "\n"

TRANSLATED = [
    # search semantics: unanchored ends become .*; a leading or trailing x* adds nothing
    ("sshd", {}, ".*sshd.*"),
    (".*(sshd|sudo).*", {}, ".*(sshd|sudo).*"),
    ("sshd|sudo", {}, ".*(sshd|sudo).*"),
    ("", {}, ".*"),
    ("x*", {}, ".*"),
    # anchors: ^ and \A at the start, \Z at the end; $ also before a final newline
    ("^sshd", {}, "sshd.*"),
    (r"\Asshd\Z", {}, "sshd"),
    ("^(sshd|sudo)$", {}, f"(sshd|sudo){LF}?"),
    ("^sshd$|^sudo$", {}, f"(sshd|sudo){LF}?"),
    ("^a$|b", {}, f"a{LF}?|.*b.*"),
    ("^$", {}, f"{LF}?"),
    # m: ^ after any newline, $ before any newline
    ("^a", {"multiline": True}, f"(.*{LF})?a.*"),
    ("a$", {"multiline": True}, f".*a({LF}.*)?"),
    # . is not a newline unless s
    ("a.b", {}, f".*a[^{LF}]b.*"),
    ("a.b", {"dotall": True}, ".*a.b.*"),
    # Perl classes, ASCII as in PCRE
    (r"\d+", {}, ".*[0-9]+.*"),
    (r"\w", {}, r".*[0-9A-Z\_a-z].*"),
    (r"\s", {}, ".*[\t-\r\\ ].*"),
    (r"[^\d]", {}, ".*[^0-9].*"),
    (r"[\w.-]+@", {}, r".*[\-\.0-9A-Z\_a-z]+\@.*"),
    # Lucene's reserved characters are escaped; letters and digits never are
    ('a#@&<>~"/b', {}, r".*a\#\@\&\<\>\~\"\/b.*"),
    (r"C:\\temp", {}, r".*C\:\\temp.*"),
    ("a b", {}, r".*a\ b.*"),
    # quantifiers; a lazy one finds the same values as the greedy one
    ("a{2,3}?b", {}, ".*a{2,3}b.*"),
    ("xa{,3}b", {}, ".*xa{0,3}b.*"),
    ("a{,3}b", {}, ".*b.*"),
    ("(ab)+c", {}, ".*(ab)+c.*"),
    ("(a|)b", {}, ".*(a|())b.*"),
    # case folding, as Python's re
    ("cmd", {"ignore_case": True}, ".*[Cc][Mm][Dd].*"),
    ("(?i)K", {}, ".*[Kk\u212a].*"),
    ("a(?i:b)", {}, ".*a([Bb]).*"),
    ("[a-c]", {"ignore_case": True}, ".*[A-Ca-c].*"),
    ("é", {"ignore_case": True}, ".*[Éé].*"),
]


@pytest.mark.parametrize(("pattern", "flags", "expected"), TRANSLATED, ids=lambda v: repr(v))
def test_translation(pattern: str, flags: dict[str, bool], expected: str) -> None:
    assert translate_regex(pattern, **flags) == expected


REFUSED = [
    (r"\bsshd", "a word boundary"),
    (r"a\Bb", "a non-boundary"),
    ("x(?=y)", "a lookahead or lookbehind"),
    ("(?<!x)y", "a negative lookahead or lookbehind"),
    (r"(a)\1", "a backreference"),
    ("(a)?(?(1)b|c)", "a conditional group"),
    ("(?>a)", "an atomic group"),
    ("a++", "a possessive quantifier"),
    ("a^b", "an anchor (^, $, \\A, \\Z) inside the pattern"),
    ("a$b", "an anchor (^, $, \\A, \\Z) inside the pattern"),
    (r"[^\s\S]", "a character class that matches no character"),
    ("(", "the pattern is not a valid regular expression"),
]


@pytest.mark.parametrize(("pattern", "reason"), REFUSED, ids=lambda v: repr(v))
def test_refusal(pattern: str, reason: str) -> None:
    with pytest.raises(RegexNotTranslatable) as caught:
        translate_regex(pattern)
    assert caught.value.reason.startswith(reason)
    assert isinstance(caught.value, TaintSigmaError)
    assert "\n" not in str(caught.value)


# ---- a Lucene-free model: the translation read back by Python, compared with re.search ------


ALPHABET = 'abAB01 -.#@"/\\\n_'
ATOMS = [
    "a",
    "b",
    "B",
    "0",
    "-",
    r"\.",
    "#",
    "@",
    '"',
    "/",
    r"\\",
    " ",
    ".",
    r"\d",
    r"\w",
    r"\s",
    r"\D",
    r"\W",
    "[a-b]",
    "[^a]",
    r"[\d_]",
    r"[^\s-]",
    r"\n",
]


@st.composite
def patterns(draw: st.DrawFn) -> str:
    return draw_pattern(draw, ATOMS, ["", "", "", "*", "+", "?", "{1,2}", "*?", "{2}"], 5)


def draw_pattern(draw: st.DrawFn, atoms: list[str], quantifiers: list[str], kinds: int) -> str:
    """A regular expression of 1 to 4 pieces, maybe anchored at either end: a piece is an
    atom, a group of alternatives or a non-capturing sequence (of pieces, two deep at most),
    maybe quantified. Of ``kinds + 1`` equally likely kinds of piece, 0–2 are atoms, 3 a group
    of alternatives, the others sequences."""

    def piece(depth: int) -> str:
        kind = draw(st.integers(0, kinds if depth < 2 else 2))
        if kind <= 2:
            text = draw(st.sampled_from(atoms))
        elif kind == 3:
            text = "(" + "|".join(piece(depth + 1) for _ in range(draw(st.integers(1, 3)))) + ")"
        else:
            text = "(?:" + "".join(piece(depth + 1) for _ in range(draw(st.integers(1, 3)))) + ")"
        return text + draw(st.sampled_from(quantifiers))

    body = "".join(piece(0) for _ in range(draw(st.integers(1, 4))))
    start = draw(st.sampled_from(["", "^", r"\A"]))
    return start + body + draw(st.sampled_from(["", "$", r"\Z"]))


FLAG_SETS = [
    {},
    {"ignore_case": True},
    {"multiline": True},
    {"dotall": True},
    {"ignore_case": True, "multiline": True, "dotall": True},
]


def python_flags(flags: dict[str, bool]) -> int:
    return (
        (re.IGNORECASE if flags.get("ignore_case") else 0)
        | (re.MULTILINE if flags.get("multiline") else 0)
        | (re.DOTALL if flags.get("dotall") else 0)
    )


@settings(max_examples=300, deadline=None)
@given(
    patterns(),
    st.sampled_from(FLAG_SETS),
    st.lists(st.text(alphabet=ALPHABET, max_size=7), min_size=1, max_size=20),
)
def test_translation_read_as_full_match_agrees_with_search(
    pattern: str, flags: dict[str, bool], values: list[str]
) -> None:
    lucene = translate_regex(pattern, **flags)
    # The translation reads the same in Python (escaped punctuation, classes, (), {n,m}) once
    # '.' matches newlines, as Lucene's does.
    model = re.compile(lucene, re.DOTALL)
    search = re.compile(pattern, python_flags(flags))
    for value in values:
        assert bool(model.fullmatch(value)) == bool(search.search(value)), (lucene, value)


# ---- through the targets ------------------------------------------------------------------


def _query(target: str, detection: dict[str, str]) -> str:
    return convert_rule(make_rule({"selection": detection}), target)


def test_targets_embed_the_translation() -> None:
    detection = {"program|re": '^a"b\\\\c/d$'}
    translated = translate_regex('^a"b\\\\c/d$')
    assert translated == 'a\\"b\\\\c\\/d\n?'
    assert _query("lucene", detection).endswith("process.name:/" + translated + "/")
    literal = 'a\\\\\\"b\\\\\\\\c\\\\/d\\n?'  # the same inside a double-quoted string
    assert _query("eql", detection).endswith(f'process.name regex "{literal}"')
    assert _query("esql", detection).endswith(f'process.name rlike "{literal}"')


def test_flags_reach_the_translation() -> None:
    query = _query("esql", {"program|re|i|m|s": "^ab.$"})
    assert query.endswith('process.name rlike "(.*\\n)?[Aa][Bb].(\\n.*)?"')


RULE_ID = "0b5e6a1c-7d2f-4e3a-9c41-5a6b7c8d9e01"


@pytest.mark.parametrize("target", ["lucene", "eql", "esql"])
def test_untranslatable_pattern_is_unsupported_naming_rule_field_target(target: str) -> None:
    rule = make_rule({"selection": {"program|re": r"\bsshd"}}, rule_id=RULE_ID)
    with pytest.raises(UnsupportedByTarget) as caught:
        convert_rule(rule, target)
    message = str(caught.value)
    assert message == (
        f"rule {RULE_ID}: target '{target}' cannot express field 'process.name': the "
        "regular expression '\\\\bsshd' has no Lucene-regexp equivalent: a word boundary \\b "
        "has no Lucene equivalent"
    )


@pytest.mark.parametrize("target", ["lucene", "eql", "esql"])
def test_regex_on_text_field_stays_refused(target: str) -> None:
    with pytest.raises(UnsupportedByTarget, match="analysed text field"):
        _query(target, {"message|re": "sshd"})


def test_splunk_keeps_the_sigma_pattern() -> None:
    assert _query("splunk", {"program|re": "^(sshd|sudo)$"}).endswith(
        '| regex process="^(sshd|sudo)$"'
    )


# ---- the target.yml mapping and the CLI ---------------------------------------------------


@pytest.mark.parametrize(
    ("regex", "message"),
    [
        ({"expression": "{field}:/x/"}, "'regex.expression' must be a template"),
        ({"expression": "{field}:/{regex}/", "inside": "quotes"}, "'regex.inside' must be one"),
        ({"expression": "{field}:/{regex}/", "flags": "i"}, "unknown 'regex' keys: flags"),
        ("{field}:/{regex}/", "'regex' must be a mapping"),
    ],
)
def test_malformed_regex_mapping_is_refused(regex: object, message: str) -> None:
    from sigma.backends.elasticsearch import LuceneBackend

    from taintsigma.convert.fieldtypes import text_aware

    with pytest.raises(TaintSigmaError, match=re.escape(message)):
        text_aware(LuceneBackend, {"field": '{field}:"{value}"'}, regex=regex)  # type: ignore[arg-type]


def test_cli_converts_and_refuses_regexes() -> None:
    from click.testing import CliRunner
    from regen_golden import GOLDEN, REPO

    from taintsigma.cli.main import cli

    rules = REPO / "tests" / "rules"
    done = CliRunner().invoke(cli, ["convert", "-t", "lucene", str(rules / "regex_search.yml")])
    assert done.exit_code == 0, done.stderr
    assert done.stdout == (GOLDEN / "lucene" / "regex_search.lucene").read_text(encoding="utf-8")
    refused = CliRunner().invoke(cli, ["convert", "-t", "esql", str(rules / "regex_lookahead.yml")])
    assert refused.exit_code == 2
    [line] = refused.stderr.splitlines()
    assert line.startswith("taintsigma: error: ")
    assert "rule 76327edc-07fe-405f-89a5-e5ba508bd409" in line
    assert "target 'esql' cannot express field 'process.name'" in line
    assert line.endswith("a negative lookahead or lookbehind has no Lucene equivalent")
