"""The field mappings of every target, per logsource: each mapped field converts, any other
field is refused with one line naming field, logsource and target."""

from __future__ import annotations

import pytest
from helpers import make_rule

from taintsigma.convert.conversion import convert_rule
from taintsigma.convert.mappings import field_mappings
from taintsigma.convert.targets import target_ids
from taintsigma.errors import UnsupportedByTarget


def _logsource(key: str) -> dict[str, str]:
    product, *rest = key.split("/")
    if not rest:
        return {"product": product}
    kind = (
        "category"
        if rest[0] in ("process_creation", "file_event", "network_connection")
        else "service"
    )
    return {"product": product, kind: rest[0]}


CASES = [(t, key) for t in target_ids() for key in field_mappings(t)]


@pytest.mark.parametrize(("target", "key"), CASES, ids=[f"{t}-{k}" for t, k in CASES])
def test_every_mapped_field_converts(target: str, key: str) -> None:
    fields = sorted(field_mappings(target)[key])
    if target == "splunk" and key != "linux/auditd":
        fields = [f for f in fields if f != "facility"]  # refused on purpose (docs/taxonomy.md)
    # Splunk searches the syslog message in the raw event, where only `contains` keeps its
    # meaning (docs/semantics.md), so the message is matched with contains everywhere.
    selection = {(f"{f}|contains" if f == "message" else f): "1" for f in fields}
    rule = make_rule({"selection": selection}, logsource=_logsource(key))
    query = convert_rule(rule, target)
    assert query


@pytest.mark.parametrize("target", target_ids())
@pytest.mark.parametrize("key", ["linux/process_creation", "linux/sshd", "linux/auditd", "linux"])
def test_an_unknown_field_is_refused(target: str, key: str) -> None:
    rule = make_rule({"selection": {"NoSuchField": "x"}}, logsource=_logsource(key))
    with pytest.raises(UnsupportedByTarget) as caught:
        convert_rule(rule, target)
    text = str(caught.value)
    assert f"field 'NoSuchField' of logsource {key} has no mapping" in text
    assert f"'{target}'" in text and "\n" not in text


@pytest.mark.parametrize("target", ["kibana-kql", "lucene", "splunk"])
def test_a_windows_rule_is_refused_not_passed_through(target: str) -> None:
    rule = make_rule(
        {"selection": {"Image": "x"}},
        logsource={"product": "windows", "category": "process_creation"},
    )
    with pytest.raises(
        UnsupportedByTarget, match="field 'Image' of logsource windows/process_creation"
    ):
        convert_rule(rule, target)


@pytest.mark.parametrize("target", ["kibana-kql", "esql", "sentinel"])
def test_a_keyword_search_of_process_events_is_refused(target: str) -> None:
    rule = make_rule(
        {"keywords": ["evil"]}, "keywords",
        logsource={"product": "linux", "category": "process_creation"},
    )  # fmt: skip
    with pytest.raises(UnsupportedByTarget, match="a keyword search .* cannot be expressed"):
        convert_rule(rule, target)


def test_refusals_in_a_batch_build_the_mapping_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each refused rule names its own unmapped fields; the target's pipeline is read for those
    messages once per batch, not once per rule (on SigmaHQ's rules/, 2,900 refusals per target
    made that most of ``convert``'s time)."""
    from sigma.collection import SigmaCollection

    from taintsigma.convert.conversion import convert_rules
    from taintsigma.convert.targets import Target, load_target
    from taintsigma.errors import ErrorPolicy

    sources = [("windows", "process_creation"), ("windows", "file_event"), ("linux", "sshd")]
    rules = [
        make_rule(
            {"selection": {f"Field{n}": "x"}},
            logsource={"product": product, ("service" if name == "sshd" else "category"): name},
        )
        for n, (product, name) in enumerate(sources * 3)
    ]
    builds = 0
    build = Target.build_pipeline

    def counting(self: Target, options: tuple[str, ...] = ()) -> object:
        nonlocal builds
        builds += 1
        return build(self, options)

    monkeypatch.setattr(Target, "build_pipeline", counting)
    report = convert_rules(
        SigmaCollection(rules), load_target("lucene"), on_error=ErrorPolicy.COLLECT
    )
    assert not report.conversions
    texts = [str(e) for e in report.errors]
    for n, (product, name) in enumerate(sources * 3):
        assert f"field 'Field{n}' of logsource {product}/{name} has no mapping" in texts[n]
    assert builds <= 2  # the backend's pipeline, and the one the messages read
