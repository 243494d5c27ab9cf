"""A Sigma regex as an exact finite set of wildcard values (taintsigma.convert.regex_wildcards),
and KQL's use of it: checked against Python's own ``re.search`` and read back by the reference
parser of KQL literals (tests/test_kql_backend.py)."""

from __future__ import annotations

import re

import pytest
from helpers import make_rule
from hypothesis import given, settings
from hypothesis import strategies as st
from test_kql_backend import RULE_ID, WILD, kql, kql_with_warnings, parse_value
from test_regex_translate import FLAG_SETS, draw_pattern, python_flags

from taintsigma.convert.conversion import convert_rule
from taintsigma.convert.regex_translate import RegexNotTranslatable
from taintsigma.convert.regex_wildcards import MAX_VALUES, WILDCARD, regex_to_wildcards
from taintsigma.errors import UnsupportedByTarget

WHITESPACE = "\t\n\x0b\x0c\r "  # PCRE's ASCII \s


def shown(values) -> list[str]:
    return ["".join("*" if c is WILDCARD else c for c in v) for v in values]


def model(value) -> re.Pattern[str]:
    """A wildcard value as a Python full match: '*' any characters (newlines too)."""
    return re.compile(
        "".join(".*" if c is WILDCARD else re.escape(c) for c in value), re.DOTALL
    )


def agrees(pattern: str, flags: dict[str, bool], texts: list[str]) -> None:
    values = regex_to_wildcards(pattern, **flags)
    assert len(values) <= MAX_VALUES
    search = re.compile(pattern, python_flags(flags))
    compiled = [model(v) for v in values]
    for text in texts:
        found = bool(search.search(text))
        assert any(m.fullmatch(text) for m in compiled) == found, (shown(values), text)


# ---- SigmaHQ's Linux rules -----------------------------------------------------------------


def test_sigmahq_patterns_become_their_exact_values() -> None:
    assert shown(regex_to_wildcards("-D")) == ["*-D*"]  # proc_creation_lnx_auditctl_clear_rules
    wget = regex_to_wildcards(r"\s-O\s")  # proc_creation_lnx_wget_download_suspicious_directory
    assert shown(wget) == [f"*{a}-O{b}*" for a in WHITESPACE for b in WHITESPACE]
    curl = regex_to_wildcards(r"\s-[FTd]\s")  # proc_creation_lnx_susp_curl_fileupload
    assert len(curl) == 108
    agrees(r"\s-[FTd]\s", {}, ["curl -F x", "curl\t-d\nx", "curl -f x", "curl -D x", "-F ", " -F"])


@pytest.mark.parametrize(
    ("pattern", "flags", "expected"),
    [
        ("^(sshd|sudo)$", {}, ["sshd", "sshd\n", "sudo", "sudo\n"]),
        (r"\Aab\Z", {}, ["ab"]),
        ("^a", {"multiline": True}, ["a*", "*\na*"]),
        ("a$", {"multiline": True}, ["*a", "*a\n*"]),
        ("ab?c", {}, ["*ac*", "*abc*"]),
        ("x{2,3}", {}, ["*xx*", "*xxx*"]),
        ("(?s)a.*b", {}, ["*a*b*"]),
        ("a.*b", {"dotall": True}, ["*a*b*"]),
        (".*ab.*", {}, ["*ab*"]),  # the unanchored ends skip '.*'
        ("", {}, ["*"]),
        ("a?", {}, ["*"]),
        (r"\*\?\\", {}, ["**?\\*"]),  # literal '*': the rendering escapes it (KQL: '\*')
    ],
)
def test_translated_examples(pattern: str, flags: dict[str, bool], expected: list[str]) -> None:
    values = regex_to_wildcards(pattern, **flags)
    if pattern == r"\*\?\\":
        assert values == [(WILDCARD, "*", "?", "\\", WILDCARD)]
        return
    assert shown(values) == expected


@pytest.mark.parametrize(
    ("pattern", "flags", "reason"),
    [
        (r"(^|\/)\.[^.\/]", {}, "negated class"),  # lnx_auditd_hidden_files_directories
        ("(.){200,}", {}, "unbounded repetition"),  # file_and_directory_discovery
        (r"-(W|R)\s?(\s|\"|')([0-9a-fA-F]{2}\s?){2,20}(\s|\"|')", {}, "more than 128"),  # pnscan
        (r"(?:\s-[^-\s]{0,20}i|\s--inode\s)", {}, "negated class"),  # susp_inod_listing
        ("a.*b", {}, "does not match a newline"),
        ("a.b", {"dotall": True}, "'.' is one character"),
        ("a+", {}, "unbounded repetition"),
        ("(?i)-d", {}, "case-insensitive"),
        ("-d", {"ignore_case": True}, "case-insensitive"),
        ("[^a]", {}, "negated"),
        (r"a\bb", {}, "anchor or word boundary"),
        ("a^b", {}, "anchor"),
        (r"\w\w", {}, "more than 128"),
        ("(?=a)", {}, "a lookahead or lookbehind has no wildcard form"),
        ("(", {}, "not a valid regular expression"),
    ],
)
def test_refused_patterns(pattern: str, flags: dict[str, bool], reason: str) -> None:
    with pytest.raises(RegexNotTranslatable, match=re.escape(reason)):
        regex_to_wildcards(pattern, **flags)


# ---- exact, against Python's re.search --------------------------------------------------------

ALPHABET = "abA-01\t\n\x0b\r *\\"
ATOMS = ["a", "b", "A", "-", "0", r"\d", r"\s", "[ab]", "[a-b0]", r"\*", r"\\", "\t", r"\n", "(?s:.*)"]


@st.composite
def finite_patterns(draw: st.DrawFn) -> str:
    """Patterns made of what the translator accepts (and some it refuses: too many values)."""
    return draw_pattern(draw, ATOMS, ["", "", "", "?", "{1,2}", "{2}", "{0,2}", "??"], 4)


@settings(max_examples=400, deadline=None)
@given(
    finite_patterns(),
    st.sampled_from([f for f in FLAG_SETS if not f.get("ignore_case")]),
    st.lists(st.text(alphabet=ALPHABET, max_size=8), min_size=1, max_size=25),
)
def test_values_match_exactly_what_the_search_finds(
    pattern: str, flags: dict[str, bool], texts: list[str]
) -> None:
    try:
        values = regex_to_wildcards(pattern, **flags)
    except RegexNotTranslatable as err:
        assert "more than" in str(err) or "newline" in str(err), (pattern, str(err))
        return
    # texts built from the values themselves: each must be found, and its near misses agree
    made = ["".join(c if c is not WILDCARD else "x\n" for c in v) for v in values[:10]]
    agrees(pattern, flags, texts + made + [m[1:] for m in made] + [m[:-1] for m in made])
    assert values  # a search always has at least one value


# ---- KQL ------------------------------------------------------------------------------------


def read_kql_values(query: str, field: str) -> list[list[str | None]]:
    """The values of ``field:v`` or ``field:(v or v ...)``, read by the reference parser."""
    assert query.startswith(f"{field}:"), query
    i = len(field) + 1
    if query[i] != "(":
        items, end = parse_value(query, i)
        assert end == len(query), query
        return [items]
    i += 1
    values = []
    while True:
        items, i = parse_value(query, i)
        values.append(items)
        if query.startswith(" or ", i):
            i += 4
            continue
        assert query[i:] == ")", query[i:]
        return values


@settings(max_examples=200, deadline=None)
@given(finite_patterns())
def test_kql_writes_each_value_so_it_reads_back_intact(pattern: str) -> None:
    try:
        expected = regex_to_wildcards(pattern)
    except RegexNotTranslatable:
        with pytest.raises(UnsupportedByTarget, match="KQL has no regular expressions"):
            kql({"selection": {"f|re": pattern}})
        return
    try:
        query = kql({"selection": {"f|re": pattern}})
    except UnsupportedByTarget as err:
        # an anchored value starting or ending with whitespace: KQL trims unquoted values
        assert "whitespace" in str(err), str(err)
        return
    read = read_kql_values(query, "f")
    assert read == [[WILD if c is WILDCARD else c for c in v] for v in expected]


def test_kql_sigmahq_wget_rule_shape() -> None:
    query, caught = kql_with_warnings({"selection": {"CommandLine|re": r"\s-O\s"}})
    assert query.startswith(r"CommandLine:(*\t-O\t* or *\t-O\n* or *\t-O\u000b* or ")
    assert query.endswith(" or * -O *)") and caught == []
    assert len(read_kql_values(query, "CommandLine")) == 36


def test_kql_negation_of_a_translated_regex_is_exact() -> None:
    assert kql({"selection": {"f|re": "-D"}}, "not selection") == "not f:*-D*"


@pytest.mark.parametrize(
    ("detection", "needle"),
    [
        ({"selection": {"f|re": "[^a]"}}, "negated"),
        ({"selection": {"f|re|i": "-d"}}, "case-insensitive"),
        ({"selection": {"f|re": "^ x"}}, "whitespace"),
    ],
)
def test_kql_refusals_keep_the_one_line_error(detection: dict, needle: str) -> None:
    with pytest.raises(UnsupportedByTarget) as info:
        kql(detection)
    text = str(info.value)
    assert "KQL has no regular expressions" in text and needle in text
    assert RULE_ID in text and "field 'f'" in text and "\n" not in text


def test_kql_regex_only_on_keyword_or_wildcard_fields() -> None:
    # process.command_line is ECS 'wildcard': translated; a long or an analysed text field is
    # refused.
    def process(detection: dict) -> str:
        logsource = {"product": "linux", "category": "process_creation"}
        return convert_rule(make_rule({"selection": detection}, logsource=logsource), "kibana-kql")

    assert process({"CommandLine|re": "-D"}).endswith(" and process.command_line:*-D*")
    with pytest.raises(UnsupportedByTarget, match="type long"):
        process({"ProcessId|re": "1"})
    with pytest.raises(UnsupportedByTarget, match="analysed text"):
        kql_with_warnings({"selection": {"message|re": "-D"}}, ecs=True)
    with pytest.raises(UnsupportedByTarget, match="type long"):  # the syslog pipeline's pid
        kql_with_warnings({"selection": {"pid|re": "1"}}, ecs=True)
    assert kql_with_warnings({"selection": {"program|re": "^sshd$"}}, ecs=True)[0].endswith(
        "process.name:(sshd or \"sshd\\n\")"
    )
