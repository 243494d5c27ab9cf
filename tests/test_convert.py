"""Golden tests: every rule × every conversion target, compared byte for byte.

Regenerate on purpose with ``python tests/regen_golden.py`` (docs/development.md).
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import pytest
from flagship_events import FLAGSHIP_EVENTS, FLAGSHIP_POSITIVE
from regen_golden import BUNDLED, GOLDEN, RULE_DIRS, TARGETS, golden_outputs
from sigma.collection import SigmaCollection

from taintsigma import (
    ErrorPolicy,
    UnsupportedByTarget,
    convert_rule,
    convert_rules,
    load_rules,
)
from taintsigma.convert.targets import load_target
from taintsigma.rules.loader import rule_files

FLAGSHIP_KQL = (
    'host.os.type:linux and event.dataset:"system.syslog" and process.name:kernel and '
    'message:"module verification failed: signature and/or required key missing - tainting kernel"'
)
STEMS = [p.stem for p in rule_files(list(RULE_DIRS))]
CASES = [(stem, t) for stem in STEMS for t in TARGETS]

FLAGSHIP = BUNDLED / "tainted_kernel_module_load.yml"


@cache
def _fresh(target_id: str) -> dict[str, str]:
    return golden_outputs(target_id)


@pytest.mark.parametrize(("stem", "target_id"), CASES, ids=[f"{s}-{t}" for s, t in CASES])
def test_golden(stem: str, target_id: str) -> None:
    folder = GOLDEN / target_id
    ext = load_target(target_id).extension
    committed = {
        name: (folder / name).read_text(encoding="utf-8")
        for name in (f"{stem}.{ext}", f"{stem}.error", f"{stem}.warnings")
        if (folder / name).is_file()
    }
    assert committed, f"no golden for {stem} × {target_id}: run python tests/regen_golden.py"
    fresh = {name: text for name, text in _fresh(target_id).items() if Path(name).stem == stem}
    assert fresh == committed


def test_every_golden_file_belongs_to_a_rule_and_a_target() -> None:
    for target_id in TARGETS:
        for path in (GOLDEN / target_id).iterdir():
            assert path.stem in STEMS, f"stale golden {path}"


def test_expected_errors_are_unsupported_by_target() -> None:
    errors = sorted(p for t in TARGETS for p in (GOLDEN / t).glob("*.error"))
    assert errors, "the test rules include constructs some target cannot express"
    for path in errors:
        assert path.read_text(encoding="utf-8").startswith("UnsupportedByTarget: "), path


def test_flagship_kql_is_the_seed_query() -> None:
    report = convert_rules(load_rules([FLAGSHIP]), "kibana-kql")
    assert [c.query for c in report.conversions] == [FLAGSHIP_KQL]


@pytest.mark.parametrize("target_id", ["lucene", "eql", "esql"])
def test_flagship_message_is_never_a_wildcard_on_the_text_field(target_id: str) -> None:
    query = convert_rules(load_rules([FLAGSHIP]), target_id).conversions[0].query
    phrase = "module verification failed: signature and/or required key missing - tainting kernel"
    assert f'"{phrase}"' in query
    assert "*module" not in query and "kernel*" not in query


def test_flagship_splunk_searches_the_syslog_sourcetype_and_its_fields() -> None:
    query = convert_rules(load_rules([FLAGSHIP]), "splunk").conversions[0].query
    assert query == (
        'sourcetype="syslog" process="kernel" ("module verification failed: signature and/or '
        'required key missing - tainting kernel" _raw="*module verification failed: signature '
        'and/or required key missing - tainting kernel*")'
    )


def test_unsupported_field_names_rule_and_target() -> None:
    loaded = load_rules([RULE_DIRS[1] / "facility.yml"])
    with pytest.raises(UnsupportedByTarget) as caught:
        convert_rules(loaded, "splunk")
    text = str(caught.value)
    assert "facility.yml" in text
    assert "3f1c2b9a-6d3e-4c1a-9a53-1f0e2d6b7a09" in text
    assert "'splunk'" in text and "'facility'" in text


def test_collect_policy_converts_the_others() -> None:
    loaded = load_rules(list(RULE_DIRS))
    report = convert_rules(loaded, "splunk", on_error=ErrorPolicy.COLLECT)
    assert [Path(e.path).name for e in report.errors] == [
        "tainted_kernel_module_load_journald.yml",  # transport: not in sourcetype=syslog
        "facility.yml",
        "text_startswith.yml",
    ]
    assert len(report.conversions) == len(loaded) - 3


def test_convert_rules_leaves_the_collection_untouched() -> None:
    loaded = load_rules([FLAGSHIP])
    before = copy.deepcopy(loaded.collection.rules[0].to_dict())
    for target_id in TARGETS:
        convert_rules(loaded, target_id)
    assert loaded.collection.rules[0].to_dict() == before


def test_convert_rule_single() -> None:
    rule = load_rules([FLAGSHIP]).collection.rules[0]
    assert convert_rule(rule, "kibana-kql") == FLAGSHIP_KQL


def test_convert_accepts_a_plain_sigma_collection() -> None:
    collection = SigmaCollection.load_ruleset([str(FLAGSHIP)])
    report = convert_rules(collection, "kibana-kql")
    assert [c.query for c in report.conversions] == [FLAGSHIP_KQL]


def _nested(flat: dict[str, str]) -> dict:
    doc: dict = {"@timestamp": 0}
    for name, value in flat.items():
        *parents, leaf = name.split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return doc


def test_flagship_eql_in_elastics_eql_engine() -> None:
    # Elastic's Python eql engine evaluates the EQL golden on the flagship's real events: the
    # stringContains~ form (docs/semantics.md) finds exactly the positive ones.
    eql = pytest.importorskip("eql", reason="Elastic's eql engine is not installed (test extra)")
    query_text = (GOLDEN / "eql" / "tainted_kernel_module_load.eql").read_text().strip()
    with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
        query = eql.parse_query(query_text)
    matched: set[str] = set()
    for name, flat in FLAGSHIP_EVENTS.items():
        engine = eql.PythonEngine()
        engine.add_query(query)
        engine.add_output_hook(lambda _e, name=name: matched.add(name))
        engine.stream_events([eql.Event("any", 0, _nested(flat))])
    assert matched == FLAGSHIP_POSITIVE


def test_eql_warns_that_elasticsearch_refuses_its_text_field() -> None:
    [eql] = convert_rules(load_rules([FLAGSHIP]), "eql").conversions
    assert eql.warnings == (
        (
            "rule 05cad2fb-200c-407f-b472-02ea8c9e5e4a (eql): field 'message': Elasticsearch's "
            "EQL refuses text fields without a keyword multi-field (ECS message is "
            "match_only_text), so this query runs in Elastic's eql engine or where the field has "
            "a keyword multi-field; see docs/semantics.md"
        ),
    )
    [lucene] = convert_rules(load_rules([FLAGSHIP]), "lucene").conversions
    # No text field note for query_string, only the case note on the keyword process.name
    # (tests/test_case_note.py).
    assert lucene.warnings == (
        "rule 05cad2fb-200c-407f-b472-02ea8c9e5e4a (lucene): field 'process.name': compared "
        "case-sensitively (Elasticsearch keyword or wildcard field), while Sigma ignores case: "
        "an event writing the value in another case is missed",
    )
    keywordless = load_rules([RULE_DIRS[1] / "value_lists.yml"])
    assert convert_rules(keywordless, "eql").conversions[0].warnings == ()
