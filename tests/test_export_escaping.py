"""Any text survives the export formats: property tests parse each package back."""

from __future__ import annotations

import tomllib

from export_checks import check_sentinel, parse_savedsearches
from helpers import make_rule
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from taintsigma.export.run import export_rule

RID = "6f1c9d52-3c1e-4f37-9a55-0d1ad1b6c2a1"
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60).filter(
    lambda t: t.strip() != ""
)
FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _rule(**extra: object):
    return make_rule(
        {"selection": {"program": "sshd"}},
        rule_id=RID,
        title="Escaping",
        description="d",
        author="me",
        date="2026-01-01",
        **extra,
    )


@FAST
@given(note=TEXT, title=TEXT, fp=TEXT)
@example(note='"""', title='"', fp="\x7f")
@example(note='a\\"', title="\\", fp='""""')
@example(note="\nstarts with a newline", title="t", fp="f")
def test_toml_round_trips_markdown_titles_and_lists(note: str, title: str, fp: str) -> None:
    rule = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, title=title, description="d",
        author="me", date="2026-01-01", note=note, falsepositives=[fp],
    )  # fmt: skip
    data = tomllib.loads(export_rule(rule, "elastic-toml"))
    assert data["rule"]["note"] == note.rstrip("\n")
    # Plain strings are wrapped (and quoted ones put in a multi-line string) as detection-rules'
    # formatter writes them; it joins the whitespace again when it loads the rule.
    assert _words(data["rule"]["name"]) == _words(title)
    assert [_words(f) for f in data["rule"]["false_positives"]] == [_words(fp)]


def _words(text: str) -> str:
    return " ".join(text.split())


@FAST
@given(description=TEXT)
@example(description='"""')
@example(description='say "hi"')
def test_toml_description_keeps_its_words(description: str) -> None:
    rule = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, description=description,
        author="me", date="2026-01-01",
    )  # fmt: skip
    data = tomllib.loads(export_rule(rule, "elastic-toml"))
    # detection-rules wraps descriptions at 120 columns and joins the lines when building.
    assert " ".join(data["rule"]["description"].split()) == " ".join(description.split())


CONF_TEXT = TEXT.filter(lambda t: "\r" not in t and "\x00" not in t)


@FAST
@given(note=CONF_TEXT)
def test_savedsearches_description_keeps_every_line(note: str) -> None:
    parser = parse_savedsearches(export_rule(_rule(note=note), "splunk-savedsearches"))
    description = parser[f"Escaping - {RID}"]["description"]
    lines = note.rstrip("\n").strip().split("\n")
    expected = "\n".join(line + " " if line.endswith("\\") else line for line in lines)
    assert description == "d\n\n" + expected.strip()


@FAST
@given(note=TEXT, title=TEXT.filter(lambda t: len(t) <= 256))
@example(note="line\u2028break", title="0\x85")
def test_sentinel_yaml_round_trips(note: str, title: str) -> None:
    rule = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, title=title, description="d", note=note
    )
    (doc,) = check_sentinel(export_rule(rule, "sentinel"))
    assert doc["name"] == title
    assert doc["description"] == "d\n\n" + note.rstrip("\n").strip()
