"""Field-type aware translation: phrase queries on analysed text fields (taintsigma.convert.fieldtypes)."""

from __future__ import annotations

import warnings

import pytest
from helpers import make_rule
from sigma.backends.elasticsearch import EqlBackend, ESQLBackend, LuceneBackend
from sigma.processing.pipeline import ProcessingPipeline
from sigma.types import SigmaString

from taintsigma.convert.fieldtypes import (
    TextFieldMixin,
    as_contains,
    classify_text_value,
    text_aware,
)
from taintsigma.convert.pipelines import taintsigma_ecs_syslog
from taintsigma.errors import TaintSigmaError, TranslationWarning, UnsupportedByTarget

PHRASE = {"field": '{field}:"{value}"', "keyword": '"{value}"', "escape": '\\"'}
RULE_ID = "11111111-2222-4333-8444-555555555555"
PREFIX = "(host.os.type:linux AND event.dataset:system.syslog) AND "


@pytest.mark.parametrize(
    ("value", "kind", "phrase"),
    [
        ("*verification failed: signature*", "phrase", "verification failed: signature"),
        ("*a.b*", "phrase", "a.b"),
        ("*kernel*", "phrase", "kernel"),
        ("foo bar", "superset", "foo bar"),
        ("foo bar*", "superset", "foo bar"),
        ("*foo bar", "superset", "foo bar"),
        ("*/bin/sh*", "superset", "bin/sh"),
        ("* -e *", "superset", "e"),
        # ':' after a letter may join the next word ("failed:x"): a word wildcard, see
        # test_punctuation_that_may_join_the_next_word
        ("*failed:*", "superset", ""),
        ("*_x*", "superset", ""),
        ("*foo*bar*", "superset", ""),  # pieces: see test_wildcards_inside_the_value
        ("*foo*bar.*", "superset", ""),
        ("*x;*", "superset", "x"),  # ';' after a letter always ends the word
        ("*GID=0,*", "superset", ""),  # ',' between digits joins them ("0,5")
        ("*café.*", "unsupported", ""),  # the word before '.' is not plain ASCII
        ("*--*", "unsupported", ""),
        ("", "unsupported", ""),
    ],
)
def test_classify_text_value(value: str, kind: str, phrase: str) -> None:
    match = classify_text_value(SigmaString(value))
    assert (match.kind, match.phrase) == (kind, phrase)
    assert bool(match.reason) == (kind != "phrase")


@pytest.mark.parametrize(
    ("value", "kind", "token_wildcard"),
    [
        ("*odule*", "phrase", True),
        ("verif*", "superset", True),
        ("*ation", "superset", True),
        ("kernel", "superset", False),  # equality: no open end, stays a phrase
        ("*two words*", "phrase", False),
    ],
)
def test_classify_single_token_wildcard(value: str, kind: str, token_wildcard: bool) -> None:
    match = classify_text_value(SigmaString(value), token_wildcard=True)
    assert (match.kind, match.token_wildcard) == (kind, token_wildcard)


@pytest.mark.parametrize(
    ("value", "patterns"),
    [
        # A word touching a wildcard inside the value may continue through it: a word wildcard.
        # Lower-case, as the index holds words.
        ("*Trojan*FOUND*", ["*trojan*", "*found*"]),
        ("Trojan*FOUND", ["trojan*", "*found"]),
        ("*x?y*", ["*x*", "*y*"]),
        # Whitespace or punctuation that always ends a word: the rest is a phrase.
        ("*wget * | sh*", ['"wget"', '"sh"']),
        ("*chown root*chmod 4777 *", ['"chown"', "root*", "*chmod", '"4777"']),
        ("*cat /dev/null >*sh_history*", ['"cat /dev/null"', "*sh_history*"]),
        ("*wget http*sendmail;chmod +x*", ['"wget"', "http*", "*sendmail", '"chmod +x"']),
    ],
)
def test_wildcards_inside_the_value(value: str, patterns: list[str]) -> None:
    match = classify_text_value(SigmaString(value))
    assert match.kind == "superset" and "order" in match.reason
    shown = [p.pattern if p.token_wildcard else f'"{p.phrase}"' for p in match.pieces]
    assert shown == patterns


@pytest.mark.parametrize(
    ("value", "patterns"),
    [
        # An open end on punctuation the analyser may join to the next word ("exec:sh",
        # "x.bash_history", "0,5", "syslog.old"): the word beside it is a word wildcard open
        # on that side, the rest a phrase (SigmaHQ's Linux rules hold each of these values).
        ("*socat exec:*", ['"socat"', "exec*"]),
        ("*.bash_history*", ["*bash_history*"]),
        ("*GID=0,*", ['"GID"', "0*"]),
        ("*/syslog.*", ["syslog*"]),
        ("*for this address.*", ['"for this"', "address*"]),
        ("*.to_i;exec x*", ["*to_i", '"exec x"']),
        ("*a_*", ["*a_*"]),  # '_' joins any word character: kept in the word
        ("*foo.*bar*", ["*foo*", "*bar*"]),  # also at a wildcard inside the value
    ],
)
def test_punctuation_that_may_join_the_next_word(value: str, patterns: list[str]) -> None:
    match = classify_text_value(SigmaString(value))
    assert match.kind == "superset" and "may join" in match.reason
    shown = [p.pattern if p.token_wildcard else f'"{p.phrase}"' for p in match.pieces]
    assert shown == patterns


@pytest.mark.parametrize(
    "value",
    [
        "*foé*bar*",  # the word cut by the wildcard is not plain ASCII
        "*a.b*c*",  # 'b' may be the end of the word 'a.bx'
        "* - * | *",  # no word at all
    ],
)
def test_wildcards_inside_a_value_that_no_word_search_expresses(value: str) -> None:
    assert classify_text_value(SigmaString(value)).kind == "unsupported"


def test_as_contains_adds_missing_wildcards_only() -> None:
    assert as_contains(SigmaString("a b")) == SigmaString("*a b*")
    assert as_contains(SigmaString("*a b")) == SigmaString("*a b*")
    assert as_contains(SigmaString("*a b*")) == SigmaString("*a b*")


def _convert(
    detection: dict,
    condition: str = "selection",
    *,
    backend: type = LuceneBackend,
    pipeline: ProcessingPipeline | None = None,
) -> tuple[str, list[str]]:
    cls = text_aware(backend, PHRASE)
    instance = cls(processing_pipeline=pipeline or taintsigma_ecs_syslog())
    rule = make_rule(detection, condition, rule_id=RULE_ID)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        queries = instance.convert_rule(rule)
    messages = [str(w.message) for w in caught if issubclass(w.category, TranslationWarning)]
    return queries[0], messages


def test_flagship_contains_becomes_a_phrase_without_warning() -> None:
    query, caught = _convert(
        {
            "selection": {
                "program": "kernel",
                "message|contains": "module verification failed: signature and/or required "
                "key missing - tainting kernel",
            }
        }
    )
    assert query == (
        PREFIX + '(process.name:kernel AND message:"module verification failed: signature '
        'and/or required key missing - tainting kernel")'
    )
    assert caught == []


def test_value_list_on_text_field_is_an_or_of_phrases() -> None:
    query, caught = _convert({"selection": {"message|contains": ["foo bar", "baz qux"]}})
    assert query == PREFIX + '(message:"foo bar" OR message:"baz qux")'
    assert caught == []


def test_all_modifier_is_an_and_of_phrases() -> None:
    query, _ = _convert({"selection": {"message|contains|all": ["foo bar", "baz"]}})
    assert query == PREFIX + '(message:"foo bar" AND message:"baz")'


def test_negated_contains_phrase_is_faithful() -> None:
    query, caught = _convert({"selection": {"message|contains": "foo bar"}}, "not selection")
    assert query == PREFIX + '(NOT message:"foo bar")'
    assert caught == []


def test_startswith_is_a_superset_with_a_warning_naming_rule_field_target() -> None:
    query, caught = _convert({"selection": {"message|startswith": "foo bar"}})
    assert query == PREFIX + 'message:"foo bar"'
    assert len(caught) == 1
    assert RULE_ID in caught[0] and "'message'" in caught[0] and "lucene" in caught[0]
    assert "not only at its start" in caught[0]


def test_wildcard_inside_is_an_and_of_pieces_with_a_warning() -> None:
    query, caught = _convert({"selection": {"message|contains": ["Trojan*FOUND", "wget * | sh"]}})
    assert query == PREFIX + (
        '((message:*trojan* AND message:*found*) OR (message:"wget" AND message:"sh"))'
    )
    assert len(caught) == 2 and all("order" in c and RULE_ID in c for c in caught)


def test_wildcard_inside_under_not_is_refused() -> None:
    with pytest.raises(UnsupportedByTarget, match="under 'not'"):
        _convert({"selection": {"message|contains": "Trojan*FOUND"}}, "not selection")


@pytest.mark.parametrize("backend", [EqlBackend, ESQLBackend])
def test_wildcard_inside_keeps_the_exact_whole_value_form(backend: type) -> None:
    phrase = {**PHRASE, "whole_value": '{field} like~ "{pattern}"'}
    cls = text_aware(backend, phrase)
    instance = cls(processing_pipeline=taintsigma_ecs_syslog())
    rule = make_rule({"selection": {"message|contains": "Trojan*FOUND"}}, rule_id=RULE_ID)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TranslationWarning)
        [query] = instance.convert_rule(rule)
    assert 'message like~ "*Trojan*FOUND*"' in query


def test_equality_on_text_field_warns() -> None:
    _, caught = _convert({"selection": {"message": "foo bar"}})
    assert len(caught) == 1 and "whole field value" in caught[0]


def test_superset_under_not_is_refused() -> None:
    with pytest.raises(UnsupportedByTarget) as info:
        _convert({"selection": {"message|endswith": "foo bar"}}, "not selection")
    text = str(info.value)
    assert RULE_ID in text and "'message'" in text and "'lucene'" in text and "under 'not'" in text


def test_double_negation_allows_a_superset_again() -> None:
    query, caught = _convert(
        {"selection": {"message|startswith": "foo"}, "other": {"program": "x"}},
        "not (other and not selection)",
    )
    assert 'message:"foo"' in query and len(caught) == 1


@pytest.mark.parametrize(
    ("detection", "needle"),
    [
        ({"selection": {"message|contains": "odule verif*café."}}, "a value with a wildcard"),
        ({"selection": {"message|contains": "x-é:"}}, "cannot be searched as one word"),
        # U+2019 joins letters like "'" (UAX #29 MidNumLet), but no word wildcard is written
        # for it: refused with the analyser's reason
        ({"selection": {"message|contains": "failed\u2019"}}, "ends with '\u2019'"),
        ({"selection": {"message|re": "fail.*ed"}}, "regular expression"),
        ({"selection": {"message|contains|cased": "Foo"}}, "'cased'"),
        ({"selection": {"message": ""}}, "no letter or digit"),
    ],
)
def test_what_a_phrase_cannot_express_is_refused(detection: dict, needle: str) -> None:
    with pytest.raises(UnsupportedByTarget) as info:
        _convert(detection)
    text = str(info.value)
    assert needle in text
    assert RULE_ID in text and "field 'message'" in text and "target 'lucene'" in text


def test_unbound_keywords_search_the_keyword_field() -> None:
    query, caught = _convert({"keywords": ["hello world", "x y"]}, "keywords")
    assert query == PREFIX + '(message:"hello world" OR message:"x y")'
    assert caught == []


def test_unbound_keyword_regex_is_refused_on_text_keyword_field() -> None:
    with pytest.raises(UnsupportedByTarget, match="regular expression"):
        _convert({"keywords": {"|re": "a.*b"}}, "keywords")


def test_unbound_keyword_without_keyword_field_uses_keyword_template() -> None:
    pipeline = ProcessingPipeline(vars={"taintsigma_text_fields": ["message"]})
    query, _ = _convert({"keywords": ["hello world"]}, "keywords", pipeline=pipeline)
    assert query == '"hello world"'


def test_lone_wildcard_on_text_field_keeps_the_backend_form() -> None:
    query, caught = _convert({"selection": {"message": "*"}})
    assert query == PREFIX + "message:*"
    assert caught == []


def test_expansion_on_text_field_is_an_or_of_phrases() -> None:
    query, caught = _convert({"selection": {"message|contains|windash": "-foo bar"}})
    phrases = " OR ".join(['message:"foo bar"'] * 5)  # windash: - / – — ―
    assert query == PREFIX + f"({phrases})"
    assert len(caught) == 5 and all("is not enforced" in c for c in caught)


def test_keyword_fields_keep_stock_translation() -> None:
    query, caught = _convert({"selection": {"program|contains": "ker nel"}})
    assert query == PREFIX + r"process.name:*ker\ nel*"
    assert caught == []


def test_pipeline_without_vars_changes_nothing() -> None:
    query, _ = _convert(
        {"selection": {"message|contains": "foo bar"}}, pipeline=ProcessingPipeline()
    )
    assert query == r"message:*foo\ bar*"


@pytest.mark.parametrize(
    ("backend", "identifier"),
    [(LuceneBackend, "lucene"), (EqlBackend, "eql"), (ESQLBackend, "esql")],
)
def test_text_aware_keeps_identifier_and_name(backend: type, identifier: str) -> None:
    cls = text_aware(backend, PHRASE)
    assert issubclass(cls, TextFieldMixin) and issubclass(cls, backend)
    assert cls.identifier == identifier and cls.name == backend.name
    assert text_aware(backend, dict(PHRASE)) is cls  # one class per configuration


def test_text_aware_target_id_overrides_identifier() -> None:
    assert text_aware(LuceneBackend, PHRASE, target_id="my-lucene").identifier == "my-lucene"


@pytest.mark.parametrize(
    "phrase",
    [
        {"keyword": '"{value}"'},
        {"field": '"{value}"'},
        {"field": '{field}:"{value}"', "colour": "red"},
        {"field": '{field}:"{value}"', "keyword": "no placeholder"},
    ],
)
def test_text_aware_rejects_bad_phrase_config(phrase: dict) -> None:
    with pytest.raises(TaintSigmaError):
        text_aware(LuceneBackend, phrase)


def test_escape_characters_are_backslash_escaped_in_the_phrase() -> None:
    query, _ = _convert({"selection": {"message|contains": 'say "hi" \\ now'}})
    assert query == PREFIX + r'message:"say \"hi\" \\ now"'


def test_later_pipeline_vars_override_earlier_ones() -> None:
    # pySigma merges vars of concatenated pipelines, the later one winning.
    pipeline = taintsigma_ecs_syslog() + ProcessingPipeline(vars={"taintsigma_text_fields": []})
    query, _ = _convert({"selection": {"message|contains": "foo bar"}}, pipeline=pipeline)
    assert query == PREFIX + r"message:*foo\ bar*"


def test_vars_survive_init_processing_pipeline() -> None:
    cls = text_aware(LuceneBackend, PHRASE)
    backend = cls(processing_pipeline=taintsigma_ecs_syslog())
    backend.init_processing_pipeline()
    assert backend.text_fields() == frozenset({"message"})
    assert backend.keyword_field() == "message"
