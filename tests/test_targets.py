"""Targets are data: backends/<id>/target.yml, loaded by id, with their pipelines and options."""

from __future__ import annotations

from pathlib import Path

import pytest
from sigma.processing.pipeline import ProcessingPipeline

from taintsigma import TargetNotFoundError, load_target, target_ids
from taintsigma.convert.targets import load_targets

EXPECTED = {
    "kibana-kql": "kql",
    "lucene": "lucene",
    "eql": "eql",
    "esql": "esql",
    "splunk": "spl",
}


def test_target_ids_in_product_order() -> None:
    # the five of PRODUCT.md first; later targets (sentinel, ...) follow
    assert target_ids()[: len(EXPECTED)] == tuple(EXPECTED)


@pytest.mark.parametrize("target_id", list(EXPECTED))
def test_each_target_loads_and_builds(target_id: str) -> None:
    target = load_target(target_id)
    assert target.extension == EXPECTED[target_id]
    assert all(p.is_file() for p in target.pipelines)
    assert isinstance(target.build_pipeline(), ProcessingPipeline)
    backend = target.create_backend()
    assert target.format in backend.formats


@pytest.mark.parametrize("target_id", ["kibana-kql", "lucene", "eql", "esql"])
def test_ecs_targets_offer_elastic_agent(target_id: str) -> None:
    target = load_target(target_id)
    pipeline = target.build_pipeline(("elastic-agent",))
    assert len(pipeline.items) > len(target.build_pipeline().items)


@pytest.mark.parametrize("target_id", ["lucene", "eql", "esql"])
def test_elasticsearch_targets_are_field_type_aware(target_id: str) -> None:
    target = load_target(target_id)
    assert target.phrase is not None and "{value}" in target.phrase["field"]
    assert target.backend_class().__name__.startswith("TextAware")


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("kql", "kibana-kql"), ("splnk", "splunk"), ("lucene2", "lucene"), ("ESQL", "esql")],
)
def test_unknown_target_suggests(name: str, suggestion: str) -> None:
    with pytest.raises(TargetNotFoundError) as caught:
        load_target(name)
    assert str(caught.value).startswith(f"unknown target '{name}'; did you mean '{suggestion}'?")


def test_unknown_target_without_a_close_name() -> None:
    with pytest.raises(TargetNotFoundError) as caught:
        load_target("zzzzzz")
    assert str(caught.value) == f"unknown target 'zzzzzz' (known: {', '.join(target_ids())})"


def test_unknown_option_names_the_known_ones() -> None:
    with pytest.raises(TargetNotFoundError) as caught:
        load_target("lucene").option("agent")
    assert str(caught.value) == "target 'lucene' has no option 'agent' (its options: auditbeat, elastic-agent)"


def test_load_targets_all() -> None:
    assert [t.id for t in load_targets(["all"])] == list(target_ids())
    assert [t.id for t in load_targets(None)] == list(target_ids())


def test_lucene_quotes_what_query_string_would_misread() -> None:
    cls = load_target("lucene").backend_class()
    assert cls.identifier == "lucene"
    assert cls.str_quote_pattern.match("AND") and cls.str_quote_pattern.match("<x")
    assert not cls.str_quote_pattern.match("<x*") and not cls.str_quote_pattern.match("ANDROID")


@pytest.mark.parametrize(
    ("attributes", "problem"),
    [
        ({"no_such_thing": 1}, "LuceneBackend has no attribute 'no_such_thing'"),
        ({"str_quote_pattern": "[unclosed"}, "'str_quote_pattern' is not a valid regular"),
        ({"or_token": 3}, "'or_token' must be a str"),
        ({"convert_rule": "x"}, "LuceneBackend has no attribute 'convert_rule'"),
    ],
)
def test_bad_backend_attributes_name_the_target_file(attributes: dict, problem: str) -> None:
    from sigma.backends.elasticsearch import LuceneBackend

    from taintsigma.convert.targets import _with_attributes
    from taintsigma.errors import TaintSigmaError

    with pytest.raises(TaintSigmaError) as caught:
        _with_attributes(LuceneBackend, attributes, Path("backends/x/target.yml"))
    assert str(caught.value).startswith(f"backends/x/target.yml: backend_attributes: {problem}")


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"phrase": {"field": "{field}"}}, "'phrase.field' must be a template"),
        (
            {"phrase": {"field": '{field}:"{value}"'}, "regex": {"expression": "x"}},
            "'regex.expression'",
        ),
    ],
)
def test_bad_phrase_or_regex_names_the_target_file(config: dict, problem: str) -> None:
    from taintsigma.convert.targets import Target
    from taintsigma.errors import TaintSigmaError

    target = Target(
        id="x",
        name="x",
        folder=Path("backends/x"),
        backend="sigma.backends.elasticsearch:LuceneBackend",
        **config,
    )
    with pytest.raises(TaintSigmaError) as caught:
        target.backend_class()
    assert str(caught.value).startswith(f"backends/x/target.yml: {problem}")


def test_an_option_replaces_layers_in_their_place() -> None:
    target = load_target("sentinel")
    names = [p.name for p in target.pipelines]
    assert names == ["pipeline.yml", "asim.yml", "linux.yml"]
    default = target.build_pipeline()
    xdr = target.build_pipeline(("xdr",))
    ids = [i.identifier for i in xdr.items]
    assert "taintsigma_sentinel_process_fields" in [i.identifier for i in default.items]
    assert "taintsigma_sentinel_process_fields" not in ids
    # the replacement comes before linux.yml's refusal of unmapped fields, as asim.yml did
    assert ids.index("taintsigma_sentinel_xdr_process_fields") < ids.index(
        "taintsigma_sentinel_unmapped_field"
    )
