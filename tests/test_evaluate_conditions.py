"""The condition language, field access and keyword searches of the native evaluator."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import make_rule
from sigma.collection import SigmaCollection

from taintsigma.evaluate import compile_rules

DETECTIONS = {
    "sel_a": {"a": "1"},
    "sel_b": {"b": "2"},
    "filter_c": {"c": "3"},
    "_hidden": {"h": "4"},
}

# condition, events that match, events that do not
CONDITIONS: list[tuple[str, list[dict], list[dict]]] = [
    ("sel_a and sel_b", [{"a": "1", "b": "2"}], [{"a": "1"}, {"b": "2"}]),
    ("sel_a or sel_b", [{"a": "1"}, {"b": "2"}], [{"c": "3"}]),
    ("not sel_a", [{"a": "0"}, {}], [{"a": "1"}]),
    ("sel_a and not filter_c", [{"a": "1"}], [{"a": "1", "c": "3"}]),
    ("sel_a and (sel_b or filter_c)", [{"a": "1", "c": "3"}], [{"a": "1"}]),
    ("sel_a or sel_b and filter_c", [{"a": "1"}, {"b": "2", "c": "3"}], [{"b": "2"}]),
    ("not (sel_a or sel_b)", [{"c": "3"}], [{"a": "1"}, {"b": "2"}]),
    ("not sel_a and not sel_b", [{}], [{"a": "1"}]),
    ("1 of sel_*", [{"a": "1"}, {"b": "2"}], [{"c": "3"}]),
    ("any of sel_*", [{"b": "2"}], [{}]),
    ("all of sel_*", [{"a": "1", "b": "2"}], [{"a": "1"}]),
    ("1 of them", [{"c": "3"}], [{"h": "4"}, {}]),
    ("all of them", [{"a": "1", "b": "2", "c": "3"}], [{"a": "1", "b": "2"}]),
    ("sel_a and not 1 of filter_*", [{"a": "1"}], [{"a": "1", "c": "3"}]),
    ("1 of sel_* and not 1 of nothing_*", [{"a": "1"}], [{}]),
    ("_hidden", [{"h": "4"}], [{}]),
]


@pytest.mark.parametrize(
    ("condition", "positives", "negatives"), CONDITIONS, ids=[c[0] for c in CONDITIONS]
)
def test_condition(condition: str, positives: list[dict], negatives: list[dict]) -> None:
    matcher = compile_rules([make_rule(DETECTIONS, condition)])
    assert [bool(matcher.match(e)) for e in positives] == [True] * len(positives)
    assert [bool(matcher.match(e)) for e in negatives] == [False] * len(negatives)


def test_them_excludes_underscore_identifiers() -> None:
    matcher = compile_rules([make_rule(DETECTIONS, "all of them")])
    assert matcher.match({"a": "1", "b": "2", "c": "3"})  # _hidden is not required


def test_condition_list_is_an_or() -> None:
    matcher = compile_rules([make_rule(DETECTIONS, ["sel_a", "sel_b"])])
    assert matcher.match({"b": "2"}) and matcher.match({"a": "1"}) and not matcher.match({})


def test_maps_are_and_and_lists_of_maps_are_or() -> None:
    detection = {"selection": [{"a": "1", "b": "2"}, {"c": "3"}]}
    matcher = compile_rules([make_rule(detection)])
    assert matcher.match({"a": "1", "b": "2"}) and matcher.match({"c": "3"})
    assert not matcher.match({"a": "1"})


FIELD_ACCESS: list[tuple[str, dict[str, Any], bool]] = [
    ("nested", {"process": {"name": "sshd"}}, True),
    ("flat-dotted", {"process.name": "sshd"}, True),
    ("mixed", {"process": {"name.x": "no"}, "process.name": "SSHD"}, True),
    ("list-of-values", {"process": {"name": ["cron", "sshd"]}}, True),
    ("list-of-objects", {"process": [{"name": "cron"}, {"name": "sshd"}]}, True),
    ("absent", {"process": {"pid": 1}}, False),
    ("not-an-object", {"process": "sshd"}, False),
    ("other-value", {"process": {"name": "sshd2"}}, False),
]


@pytest.mark.parametrize(
    ("event", "expected"), [c[1:] for c in FIELD_ACCESS], ids=[c[0] for c in FIELD_ACCESS]
)
def test_dotted_field_names(event: dict, expected: bool) -> None:
    matcher = compile_rules([make_rule({"selection": {"process.name": "sshd"}})])
    assert bool(matcher.match(event)) is expected


def test_keywords_search_the_message_of_syslog_rules() -> None:
    rule = make_rule({"keywords": ["Accepted password", "Failed*root"]}, "keywords")
    matcher = compile_rules([rule])
    assert matcher.match({"program": "sshd", "message": "accepted password for bob"})
    assert matcher.match({"message": "failed password for ROOT from 1.2.3.4"})
    # only the message is searched, not the other fields
    assert not matcher.match({"program": "accepted password", "message": "x"})


def test_keywords_with_all_need_every_value() -> None:
    rule = make_rule({"keywords": {"|all": ["sudo", "COMMAND=/bin/bash"]}}, "keywords")
    matcher = compile_rules([rule])
    assert matcher.match({"message": "bob : TTY=pts/0 ; COMMAND=/bin/bash (sudo)"})
    assert not matcher.match({"message": "sudo: bob : COMMAND=/bin/sh"})


def test_keywords_of_other_log_sources_search_every_value() -> None:
    rule = make_rule(
        {"keywords": ["evil"]}, "keywords", logsource={"product": "linux", "service": "auditd"}
    )
    matcher = compile_rules([rule])
    assert matcher.match({"data": {"exe": "/tmp/EVIL"}})
    assert matcher.match({"argv": ["ls", "evil.sh"]})
    assert not matcher.match({"data": {"exe": "/bin/ls"}})


def test_keywords_follow_the_pipeline_for_ecs_events() -> None:
    from taintsigma.convert.pipelines import taintsigma_ecs_syslog

    rule = make_rule({"keywords": ["segfault at"]}, "keywords")
    matcher = compile_rules([rule], taintsigma_ecs_syslog())
    event = {"host": {"os": {"type": "linux"}}, "event": {"dataset": "system.syslog"}}
    assert matcher.match({**event, "message": "app[12]: segfault at 0 ip"})
    assert not matcher.match({**event, "message": "segfault"})


def test_filters_apply_to_the_rules_they_name() -> None:
    rule_yaml = """
title: Sudo to root
id: 7d7d7d7d-0000-4000-8000-000000000001
name: sudo_root
status: test
logsource: {product: linux, service: syslog}
detection:
  selection:
    program: sudo
    message|contains: USER=root
  condition: selection
level: medium
---
title: Not from ansible
id: 7d7d7d7d-0000-4000-8000-000000000002
logsource: {product: linux, service: syslog}
filter:
  rules: [sudo_root]
  selection:
    message|contains: ansible
  condition: not selection
"""
    collection = SigmaCollection.from_yaml(rule_yaml)
    collection.apply_filters(collection.filters)
    matcher = compile_rules(collection)
    assert matcher.match({"program": "sudo", "message": "bob : USER=root ; COMMAND=/bin/sh"})
    assert not matcher.match({"program": "sudo", "message": "ansible : USER=root ; COMMAND=x"})


def test_numbers_and_booleans_in_events_match_string_patterns() -> None:
    matcher = compile_rules([make_rule({"selection": {"pid|startswith": "12"}})])
    assert matcher.match({"pid": 1234}) and not matcher.match({"pid": 4123})


def test_keywords_of_product_only_linux_rules_search_the_message() -> None:
    # SigmaHQ's "builtin" Linux keyword rules name only the product: they read log lines.
    rule = make_rule(
        {"keywords": ["entered promiscuous mode"]}, "keywords", logsource={"product": "linux"}
    )
    matcher = compile_rules([rule])
    assert matcher.match({"program": "kernel", "message": "device eth0 entered promiscuous mode"})
    assert not matcher.match({"program": "entered promiscuous mode", "message": "x"})
