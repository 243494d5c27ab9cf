"""The Kibana Query Language backend: every construct, hostile values, refusals, discovery.

Escaping is checked against a small reference parser of KQL literals written from Kibana's
kuery grammar (kbn-es-query src/kuery/grammar/grammar.peggy; see docs/kql.md).
"""

from __future__ import annotations

import re
import unicodedata
import warnings

import pytest
from click.testing import CliRunner
from helpers import make_rule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sigma.processing.pipeline import ProcessingPipeline
from sigma.types import SigmaString, SpecialChars

from taintsigma.convert.conversion import convert_rule
from taintsigma.convert.fieldtypes import classify_text_value
from taintsigma.convert.kql import syntax
from taintsigma.convert.kql.backend import KibanaKqlBackend
from taintsigma.convert.pipelines import taintsigma_ecs_syslog
from taintsigma.errors import TranslationWarning, UnsupportedByTarget

RULE_ID = "0badc0de-1111-4222-8333-444455556666"
ECS = 'host.os.type:linux and event.dataset:"system.syslog" and '
FLAGSHIP = (
    'host.os.type:linux and event.dataset:"system.syslog" and process.name:kernel and '
    'message:"module verification failed: signature and/or required key missing - tainting kernel"'
)


def kql(
    detection: dict,
    condition: str | list[str] = "selection",
    *,
    ecs: bool = False,
) -> str:
    """Convert a small rule; ``ecs`` uses the syslog ECS pipeline, else an empty pipeline."""
    return kql_with_warnings(detection, condition, ecs=ecs)[0]


def kql_with_warnings(
    detection: dict, condition: str | list[str] = "selection", *, ecs: bool = False
) -> tuple[str, list[str]]:
    backend = KibanaKqlBackend(taintsigma_ecs_syslog() if ecs else ProcessingPipeline())
    rule = make_rule(detection, condition, rule_id=RULE_ID)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        queries = backend.convert_rule(rule)
    assert len(queries) == 1
    return queries[0], [str(w.message) for w in caught if w.category is TranslationWarning]


# ---- the flagship ---------------------------------------------------------------------------


def test_flagship_through_the_cli_is_elastics_query_exactly() -> None:
    from taintsigma.cli.main import cli

    result = CliRunner().invoke(cli, ["convert", "sigma_rules/tainted_kernel_module_load.yml", "-t", "kibana-kql"], obj={})
    assert result.exit_code == 0, result.output
    assert result.stdout == FLAGSHIP + "\n"


def test_flagship_through_the_library() -> None:
    from taintsigma import load_rules

    rule = load_rules(["sigma_rules/tainted_kernel_module_load.yml"]).collection.rules[0]
    assert convert_rule(rule, "kibana-kql") == FLAGSHIP


# ---- boolean structure ----------------------------------------------------------------------

THREE = {"s1": {"a": "x"}, "s2": {"b": "y"}, "s3": {"c": "z"}}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("s1 and (s2 and s3)", "a:x and b:y and c:z"),
        ("(s1 and s2) and s3", "a:x and b:y and c:z"),
        ("s1 or (s2 or s3)", "a:x or b:y or c:z"),
        ("s1 and (s2 or s3)", "a:x and (b:y or c:z)"),
        ("(s1 or s2) and s3", "(a:x or b:y) and c:z"),
        ("(s1 and s2) or s3", "a:x and b:y or c:z"),
        ("not (s1 or s2)", "not (a:x or b:y)"),
        ("not (s1 and s2)", "not (a:x and b:y)"),
        ("not s1 and not s2", "not a:x and not b:y"),
        ("not not s1", "not (not a:x)"),
        ("1 of s*", "a:x or b:y or c:z"),
        ("all of s*", "a:x and b:y and c:z"),
        ("1 of them", "a:x or b:y or c:z"),
        ("s1 and not 1 of s2*", "a:x and not b:y"),
    ],
)
def test_and_or_not_with_minimal_parentheses(condition: str, expected: str) -> None:
    assert kql(THREE, condition) == expected


def test_selection_map_is_an_and() -> None:
    assert kql({"selection": {"a": "x", "b": "y"}}) == "a:x and b:y"


def test_condition_list_gives_one_query_per_condition() -> None:
    backend = KibanaKqlBackend(ProcessingPipeline())
    rule = make_rule(THREE, ["s1", "s2 or s3"])
    assert backend.convert_rule(rule) == ["a:x", "b:y or c:z"]


# ---- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("kernel", "f:kernel"),
        ("system.syslog", 'f:"system.syslog"'),
        ("two words", 'f:"two words"'),
        ("123", 'f:"123"'),
        ("", 'f:""'),
        ("true", 'f:"true"'),
        ("NULL", 'f:"NULL"'),
        ("or", 'f:"or"'),
        ("Not", 'f:"Not"'),
        ("Infinity", 'f:"Infinity"'),
        ("knot", 'f:"knot"'),
        ("Cannot", 'f:"Cannot"'),
        ('say "hi"', r'f:"say \"hi\""'),
        ("back\\slash", r'f:"back\\slash"'),
        ("tab\there\nnew\rline", r'f:"tab\there\nnew\rline"'),
        ("a*b?c", r'f:"a*b?c"'),
        ("(x):<y>{z}", 'f:"(x):<y>{z}"'),
        ("münchen", 'f:"münchen"'),
        ("emoji 😀", 'f:"emoji 😀"'),
        ("nul\x00bell\x07", r'f:"nul\u0000bell\u0007"'),
        ("nbsp\u00a0here", r'f:"nbsp\u00a0here"'),
    ],
)
def test_plain_values_are_bare_words_or_quoted(value: str, expected: str) -> None:
    # Sigma's own escapes: a literal * or ? in a rule is written \* and \?.
    escaped = value.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    assert kql({"selection": {"f": escaped}}) == expected
    assert kql_value(value) == expected


def kql_value(value: str) -> str:
    """The rendering of an exact (wildcard-free) value on field f."""
    return "f:" + syntax.render_value(SigmaString.from_str(value))


@pytest.mark.parametrize(
    ("modifier", "value", "expected"),
    [
        ("contains", "foo bar", "f:*foo bar*"),
        ("startswith", "foo", "f:foo*"),
        ("endswith", "foo", "f:*foo"),
        ("contains", 'q"(x):<y>{z}\\w', r"f:*q\"\(x\)\:\<y\>\{z\}\\w*"),
        ("contains", "a\\*b", r"f:*a\*b*"),
        ("contains", "a*b", "f:*a*b*"),
        ("contains", "not x", r"f:*\u006eot x*"),
        ("contains", "NOT x", r"f:*\NOT x*"),
        ("contains", "x or y", r"f:*x \or y*"),
        ("contains", "x AND y", r"f:*x \AND y*"),
        ("contains", "or or or", r"f:*or \or or*"),
        ("equals", "or or or", 'f:"or or or"'),
        ("endswith", "cannot", r"f:*can\u006eot"),
        ("endswith", "x and", r"f:*x \and"),
        ("startswith", "android", "f:android*"),
        ("contains", "knot\ty", r"f:*knot\ty*"),
        ("contains", "münchen", "f:*münchen*"),
    ],
)
def test_wildcards_on_keyword_fields_are_unquoted_and_escaped(
    modifier: str, value: str, expected: str
) -> None:
    key = "f" if modifier == "equals" else f"f|{modifier}"
    assert kql({"selection": {key: value}}) == expected


def test_plain_value_table_matches_rule_conversion() -> None:
    # The same rendering is used when the value comes from a rule.
    assert kql({"selection": {"f": "system.syslog"}}) == 'f:"system.syslog"'
    assert kql({"selection": {"f": 'say "hi"'}}) == r'f:"say \"hi\""'
    assert kql({"selection": {"f": "a\\*b"}}) == 'f:"a*b"'


def test_value_list_uses_kql_value_lists() -> None:
    assert kql({"selection": {"f": ["x", "y z", "w*"]}}) == 'f:(x or "y z" or w*)'


def test_all_modifier_uses_an_and_value_list() -> None:
    assert kql({"selection": {"f|all": ["x", "y"]}}) == "f:(x and y)"


def test_value_list_inside_and_needs_no_extra_parentheses() -> None:
    assert kql({"sel": {"f": ["x", "y"]}, "g": {"g": "1"}}, "g and sel") == 'g:"1" and f:(x or y)'
    assert kql({"sel": {"f": ["x", "y"]}}, "not sel") == "not f:(x or y)"


def test_expansion_modifiers_are_grouped_ors() -> None:
    assert kql({"sel": {"f|windash|contains": "-x"}, "g": {"g": "1"}}, "g and sel") == (
        'g:"1" and (f:*-x* or f:*/x* or f:*–x* or f:*—x* or f:*―x*)'
    )


def test_numbers_and_booleans() -> None:
    assert kql({"selection": {"f": 5, "g": -1.5, "h": True, "i": False}}) == (
        "f:5 and g:-1.5 and h:true and i:false"
    )


@pytest.mark.parametrize(
    ("modifier", "expected"),
    [("gt", "f > 5"), ("gte", "f >= 5"), ("lt", "f < 5"), ("lte", "f <= 5")],
)
def test_numeric_comparisons(modifier: str, expected: str) -> None:
    assert kql({"selection": {f"f|{modifier}": 5}}) == expected


def test_exists_and_null() -> None:
    assert kql({"selection": {"f|exists": True}}) == "f:*"
    assert kql({"selection": {"f|exists": False}}) == "not f:*"
    assert kql({"selection": {"f": None}}) == "not f:*"
    assert kql({"selection": {"f": None}}, "not selection") == "f:*"
    assert kql({"selection": {"f|exists": False}}, "not selection") == "f:*"
    assert kql({"selection": {"f": "*"}}) == "f:*"


def test_null_inside_and_or() -> None:
    assert kql({"s1": {"a": None}, "s2": {"b": "x"}}, "s1 or s2") == "not a:*" + " or b:x"


def test_cidr() -> None:
    assert kql({"selection": {"source.ip|cidr": "10.0.0.0/8"}}) == "source.ip:10.0.0.0/8"
    assert kql({"selection": {"source.ip|cidr": "2001:db8::/32"}}) == (
        r"source.ip:2001\:db8\:\:/32"
    )
    assert kql({"selection": {"source.ip|cidr": ["10.0.0.0/8", "192.168.0.0/16"]}}) == (
        "source.ip:10.0.0.0/8 or source.ip:192.168.0.0/16"
    )


def test_cased_on_keyword_field_is_honoured() -> None:
    # KQL term and wildcard queries on keyword fields are case-sensitive already.
    assert kql({"selection": {"f|cased": "Foo"}}) == "f:Foo"


def test_field_names_are_escaped_or_quoted() -> None:
    assert kql({"selection": {"my field": "x", "a*b": "y", "or": "z", "x:y": "w"}}) == (
        r'"my field":x and a\*b:y and \or:z and x\:y:w'
    )


# ---- keyword searches -----------------------------------------------------------------------


def test_keywords_without_pipeline_are_free_text() -> None:
    assert kql({"keywords": ["foo bar", "segfault"]}, "keywords") == '"foo bar" or *segfault*'


def test_keywords_with_ecs_pipeline_search_message() -> None:
    query, caught = kql_with_warnings(
        {"keywords": ["module verification failed", "segfault"]}, "keywords", ecs=True
    )
    assert query == ECS + '(message:"module verification failed" or message:*segfault*)'
    assert caught == []


def test_keywords_all_is_an_and() -> None:
    assert kql({"keywords": {"|all": ["foo bar", "baz qux"]}}, "keywords", ecs=True) == (
        ECS + 'message:"foo bar" and message:"baz qux"'
    )


def test_keyword_combined_with_selection() -> None:
    detection = {"keywords": ["tainting kernel"], "selection": {"program": "kernel"}}
    assert kql(detection, "selection and keywords", ecs=True) == (
        ECS + 'process.name:kernel and message:"tainting kernel"'
    )


# ---- text fields (phrases) ------------------------------------------------------------------


def test_contains_on_message_is_a_phrase() -> None:
    query, caught = kql_with_warnings(
        {"selection": {"message|contains": 'failed: "quoted" \\ path'}}, ecs=True
    )
    assert query == ECS + r'message:"failed: \"quoted\" \\ path"'
    assert caught == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # punctuation that may join the next word: that word is a lower-case word wildcard
        ("socat exec:*", '(message:"socat" and message:exec*)'),
        (".bash_history", "message:*bash_history*"),
        ("GID=0,", '(message:"GID" and message:0*)'),
        ("Bad HTTP verb.", '(message:"Bad HTTP" and message:verb*)'),
    ],
)
def test_a_word_that_may_join_the_next_is_a_word_wildcard(value: str, expected: str) -> None:
    query, caught = kql_with_warnings({"keywords": [value]}, "keywords", ecs=True)
    assert query == ECS + expected
    assert len(caught) == 1 and "may join" in caught[0] and RULE_ID in caught[0]


def test_a_word_that_may_join_the_next_is_refused_under_not() -> None:
    with pytest.raises(UnsupportedByTarget, match="under 'not'"):
        kql({"keywords": ["/syslog."]}, "not keywords", ecs=True)


def test_single_word_contains_on_message_is_a_token_wildcard() -> None:
    query, caught = kql_with_warnings({"selection": {"message|contains": "odule"}}, ecs=True)
    assert query == ECS + "message:*odule*"
    assert caught == []


def test_startswith_on_message_warns_with_rule_field_target() -> None:
    query, caught = kql_with_warnings(
        {"selection": {"message|startswith": "module verification"}}, ecs=True
    )
    assert query == ECS + 'message:"module verification"'
    assert len(caught) == 1
    assert RULE_ID in caught[0] and "'message'" in caught[0] and "kibana-kql" in caught[0]


def test_wildcard_inside_a_message_value_is_an_and_of_pieces() -> None:
    query, caught = kql_with_warnings(
        {"selection": {"message|contains": ["Trojan*FOUND", "cat /dev/null >*sh_history"]}},
        ecs=True,
    )
    assert query == ECS + (
        "((message:*trojan* and message:*found*) or "
        '(message:"cat /dev/null" and message:*sh_history*))'
    )
    assert len(caught) == 2 and all("order" in c for c in caught)


def test_wildcard_inside_a_message_value_under_not_is_refused() -> None:
    with pytest.raises(UnsupportedByTarget, match="under 'not'"):
        kql({"selection": {"message|contains": "wget * | sh"}}, "not selection", ecs=True)


def test_message_list_under_not_is_a_negated_or_of_phrases() -> None:
    assert kql({"selection": {"message|contains": ["a b", "c d"]}}, "not selection", ecs=True) == (
        ECS + 'not (message:"a b" or message:"c d")'
    )


# ---- what KQL cannot express ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("detection", "condition", "field", "needle"),
    [
        ({"selection": {"f|re": "[^x]"}}, "selection", "field 'f'", "regular expressions"),
        ({"keywords": {"|re": "x.*"}}, "keywords", "a keyword search", "regular expressions"),
        ({"selection": {"f|fieldref": "g"}}, "selection", "field 'f'", "fieldref"),
        ({"selection": {"f|minute": 5}}, "selection", "field 'f'", "timestamp"),
        ({"selection": {"f": "a?c"}}, "selection", "field 'f'", "single-character wildcard"),
        ({"selection": {"f|startswith": " x"}}, "selection", "field 'f'", "start with whitespace"),
        ({"selection": {"f|endswith": "x\u00a0"}}, "selection", "field 'f'", "end with whitespace"),
        ({"keywords": ["ba*é.z"]}, "keywords", "a keyword search", "a value with a wildcard"),
    ],
)
def test_unsupported_constructs_name_rule_field_and_target(
    detection: dict, condition: str, field: str, needle: str
) -> None:
    with pytest.raises(UnsupportedByTarget) as info:
        kql(detection, condition)
    message = str(info.value)
    assert RULE_ID in message and field in message and "target 'kibana-kql'" in message
    assert needle in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("detection", "needle"),
    [
        ({"selection": {"message|re": "x.*"}}, "regular expression"),
        ({"selection": {"message|contains|cased": "Foo bar"}}, "'cased'"),
        ({"selection": {"message|contains": "failed\u2019"}}, "ends with '\u2019'"),
        ({"selection": {"message|contains": "module*café."}}, "a value with a wildcard"),
    ],
)
def test_unsupported_on_text_field(detection: dict, needle: str) -> None:
    with pytest.raises(UnsupportedByTarget) as info:
        kql(detection, ecs=True)
    message = str(info.value)
    assert RULE_ID in message and "field 'message'" in message and "'kibana-kql'" in message
    assert needle in message


def test_unsupported_through_convert_rule_is_one_line_with_rule_id() -> None:
    rule = make_rule({"selection": {"f|re": "[^x]"}}, rule_id=RULE_ID)
    with pytest.raises(UnsupportedByTarget) as info:
        convert_rule(rule, "kibana-kql")
    assert info.value.rule_id == RULE_ID
    assert str(info.value).count(RULE_ID) == 1


# ---- plugin discovery -----------------------------------------------------------------------


def test_pysigma_discovers_backend_and_pipelines() -> None:
    from sigma.plugins import InstalledSigmaPlugins

    plugins = InstalledSigmaPlugins.autodiscover()
    assert plugins.backends["kibana-kql"] is KibanaKqlBackend
    assert "taintsigma_ecs_syslog" in plugins.pipelines
    resolver = plugins.get_pipeline_resolver()
    pipeline = resolver.resolve(["taintsigma_ecs_syslog"])
    rule = make_rule(
        {"selection": {"program": "kernel", "message|contains": "tainting kernel"}}
    )
    from sigma.collection import SigmaCollection

    query = KibanaKqlBackend(pipeline).convert(SigmaCollection([rule]))
    assert query == [ECS + 'process.name:kernel and message:"tainting kernel"']


def test_backend_metadata() -> None:
    assert KibanaKqlBackend.identifier == "kibana-kql"
    assert KibanaKqlBackend.name == "Kibana Query Language"
    assert KibanaKqlBackend.formats == {"default": "plain KQL queries"}


# ---- a reference parser of KQL values, from grammar.peggy --------------------------------------

SPACE = " \t\r\n\u00a0"  # rule Space
SPECIAL = '\\():<>"*{}'  # rule SpecialCharacter
WHITESPACE_ESCAPES = {"\\t": "\t", "\\r": "\r", "\\n": "\n"}  # rule EscapedWhitespace
UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")  # rule EscapedUnicodeSequence
KEYWORD_ESCAPE = re.compile(r"\\(or|and|not)", re.IGNORECASE)  # rule EscapedKeyword
WILD = None


def js_string(units: list[str]) -> str:
    """Join JavaScript UTF-16 code units (surrogates from \\u escapes) into a Python string."""
    return "".join(units).encode("utf-16", "surrogatepass").decode("utf-16")


def is_keyword(text: str, i: int) -> bool:
    """Rule Keyword at position i: Space or/and Space, or not Space."""
    if text[i] in SPACE:
        for word in ("or", "and"):
            end = i + 1 + len(word)
            if text[i + 1 : end].lower() == word and end < len(text) and text[end] in SPACE:
                return True
    return text[i : i + 3].lower() == "not" and i + 3 < len(text) and text[i + 3] in SPACE


def parse_quoted(text: str, i: int) -> tuple[str, int]:
    """Rule QuotedString from position i (at the opening quote); returns (value, end)."""
    assert text[i] == '"'
    i += 1
    units: list[str] = []
    while i < len(text):
        two = text[i : i + 2]
        match = UNICODE_ESCAPE.match(text, i)
        if two in WHITESPACE_ESCAPES:
            units.append(WHITESPACE_ESCAPES[two])
            i += 2
        elif match:
            units.append(chr(int(match.group(1), 16)))
            i += 6
        elif two in ('\\\\', '\\"'):
            units.append(two[1])
            i += 2
        elif text[i] != '"':
            units.append(text[i])
            i += 1
        else:
            return js_string(units), i + 1
    raise AssertionError(f"unterminated quoted string in {text!r}")


def parse_unquoted(text: str, i: int) -> tuple[list[str | None], int]:
    """Rule UnquotedLiteral from position i; returns (characters with WILD, end)."""
    items: list[str | None] = []
    pending: list[str] = []  # UTF-16 units not yet joined

    def flush() -> None:
        if pending:
            items.extend(js_string(pending))
            pending.clear()

    while i < len(text):
        two = text[i : i + 2]
        unicode_match = UNICODE_ESCAPE.match(text, i)
        keyword_match = KEYWORD_ESCAPE.match(text, i)
        if two in WHITESPACE_ESCAPES:
            pending.append(WHITESPACE_ESCAPES[two])
            i += 2
        elif two[:1] == "\\" and len(two) == 2 and two[1] in SPECIAL:
            pending.append(two[1])
            i += 2
        elif unicode_match:
            pending.append(chr(int(unicode_match.group(1), 16)))
            i += 6
        elif keyword_match:
            pending.append(keyword_match.group(1))
            i += len(keyword_match.group(0))
        elif text[i] == "*":
            flush()
            items.append(WILD)
            i += 1
        elif text[i] in SPECIAL or is_keyword(text, i):
            break
        else:
            pending.append(text[i])
            i += 1
    flush()
    assert items, f"no literal at {i} in {text!r}"
    # chars.join('').trim(): JavaScript trims whitespace at both ends
    while items and items[0] is not WILD and syntax.is_js_whitespace(items[0]):
        items.pop(0)
    while items and items[-1] is not WILD and syntax.is_js_whitespace(items[-1]):
        items.pop()
    if WILD not in items and "".join(items) in ("null", "true", "false"):
        literal = "".join(c for c in items if c is not None)
        raise AssertionError(f"{text!r} parses as the literal {literal}")
    return items, i


def parse_value(text: str, i: int = 0) -> tuple[list[str | None], int]:
    """Rule Value: a quoted string (no wildcards) or an unquoted literal."""
    if text[i] == '"':
        value, end = parse_quoted(text, i)
        return list(value), end
    return parse_unquoted(text, i)


def items_of(value: SigmaString) -> list[str | None]:
    out: list[str | None] = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append(WILD)
        else:
            out.extend(str(part))
    return out


HOSTILE = st.text(
    alphabet=st.one_of(
        st.sampled_from(list('\\():<>"*{}? \t\r\n\u00a0\u2028\u3000\ufeffnotandrNOTAOD.-/')),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=24,
)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# Values the grammar is most likely to misread; checked every run, besides hypothesis' draws.
TRICKY = [
    "knot", "CANNOT", "not", "not x", "x or", "or x", "a and b", "or or or", "null", "true",
    " x ", "\\not", "\\u0041", "a\tb", "\u00a0x", "x\u2028", "(x)", "{x}", "😀", "",
]


def check_exact_value(text: str) -> None:
    rendered = syntax.render_value(SigmaString.from_str(text))
    query = f"f:{rendered} and g:1"
    items, end = parse_value(query, 2)
    assert "".join(c for c in items if c is not None) == text and WILD not in items
    assert query[end:] == " and g:1"


def check_wildcard_value(text: str, shape: str) -> None:
    parts: list = [text] if text else []
    if shape in ("contains", "endswith"):
        parts.insert(0, SpecialChars.WILDCARD_MULTI)
    if shape in ("contains", "startswith"):
        parts.append(SpecialChars.WILDCARD_MULTI)
    value = SigmaString()
    value.s = parts
    expected = items_of(value)
    edges = [expected[0], expected[-1]]
    if any(e is not WILD and syntax.is_js_whitespace(e) for e in edges):
        with pytest.raises(syntax.KqlSyntaxError):
            syntax.render_value(value)
        return
    rendered = syntax.render_value(value)
    for query, tail in ((f"f:{rendered} and g:1", " and g:1"), (f"f:({rendered} or x)", " or x)")):
        start = query.index(":") + (2 if query.startswith("f:(") else 1)
        items, end = parse_value(query, start)
        assert items == expected
        assert query[end:] == tail


def check_field_name(name: str) -> None:
    rendered = syntax.render_field(name)
    for tail in (":x", " > 5"):  # FieldValueExpression, FieldRangeExpression
        query = rendered + tail
        items, end = parse_value(query, 0)
        assert "".join(c for c in items if c is not None) == name and WILD not in items
        # an unquoted field takes the space before the operator and trims it (rule Space*)
        assert query[end:].lstrip(" ") == tail.lstrip(" ")


SHAPES = ["contains", "startswith", "endswith"]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_values_round_trip(text: str) -> None:
    check_exact_value(text)
    for shape in SHAPES:
        check_wildcard_value(text, shape)
    check_field_name(text)


@PROPERTY
@given(HOSTILE)
def test_property_exact_values_round_trip(text: str) -> None:
    check_exact_value(text)


@PROPERTY
@given(HOSTILE, st.sampled_from(SHAPES))
def test_property_wildcard_values_round_trip(text: str, shape: str) -> None:
    check_wildcard_value(text, shape)


@PROPERTY
@given(HOSTILE)
def test_property_field_names_round_trip(name: str) -> None:
    check_field_name(name)


@PROPERTY
@given(HOSTILE)
def test_property_phrase_values_on_message_round_trip(text: str) -> None:
    detection = {"selection": {"message|contains": text.replace("\\", "\\\\")
                               .replace("*", "\\*").replace("?", "\\?")}}
    value = SigmaString("*" + detection["selection"]["message|contains"] + "*")
    if not text:  # contains '' is any value: an existence test
        assert kql(detection, ecs=True) == ECS + "message:*"
        return
    match = classify_text_value(value, token_wildcard=True)
    if match.kind == "unsupported":
        with pytest.raises(UnsupportedByTarget):
            kql_with_warnings(detection, ecs=True)
        return
    query, caught = kql_with_warnings(detection, ecs=True)
    assert bool(caught) == (match.kind == "superset")
    pieces = match.pieces or (match,)
    grouped = len(pieces) > 1
    start = len(ECS) + grouped
    for index, piece in enumerate(pieces):  # the AND of the pieces, each read back
        head = "message:" if index == 0 else " and message:"
        assert query.startswith(head, start), query
        start += len(head)
        quoted = query[start] == '"'
        items, start = parse_value(query, start)
        if match.pieces and piece.token_wildcard:  # a word wildcard of a piece, lower-case
            assert "".join("*" if c is WILD else c for c in items) == piece.pattern  # type: ignore[misc]
            assert piece.pattern.strip("*") == piece.phrase.lower()
        elif piece.token_wildcard:
            assert items == [WILD, *piece.phrase, WILD]
        else:
            assert quoted and "".join(items) == piece.phrase  # type: ignore[arg-type]
        assert unicodedata.normalize("NFC", piece.phrase) in unicodedata.normalize("NFC", text)
    assert query[start:] == (")" if grouped else "")


def test_refusals_are_pysigma_errors_too_so_sigma_cli_can_skip_them() -> None:
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

    bad = make_rule({"selection": {"f|re": "[^x]"}}, rule_id=RULE_ID)
    good = make_rule({"selection": {"f": "x"}})
    backend = KibanaKqlBackend(ProcessingPipeline(), collect_errors=True)
    assert backend.convert(SigmaCollection([bad, good])) == ["f:x"]
    [(rule, error)] = backend.errors
    assert rule is bad and isinstance(error, SigmaFeatureNotSupportedByBackendError)
    assert isinstance(error, UnsupportedByTarget) and RULE_ID in str(error)


def test_correlation_rules_are_refused_by_name(tmp_path) -> None:
    from taintsigma import convert_rules, load_rules
    from taintsigma.errors import ErrorPolicy

    path = tmp_path / "corr.yml"
    path.write_text(
        "title: base\nname: base\nid: 7e0c5a2c-0000-4000-8000-000000000002\n"
        "logsource: {product: linux, service: syslog}\n"
        "detection: {sel: {program: sshd}, condition: sel}\n"
        "---\n"
        "title: corr\nid: 7e0c5a2c-0000-4000-8000-000000000003\n"
        "correlation: {type: event_count, rules: [base], group-by: [hostname], timespan: 5m,"
        " condition: {gte: 10}}\n",
        encoding="utf-8",
    )
    report = convert_rules(load_rules([path]), "kibana-kql", on_error=ErrorPolicy.COLLECT)
    [error] = report.errors
    assert isinstance(error, UnsupportedByTarget)
    assert str(error) == (
        f"{path}: rule 7e0c5a2c-0000-4000-8000-000000000003: target 'kibana-kql' cannot "
        "express correlation rules (event_count): a KQL query matches single events"
    )
