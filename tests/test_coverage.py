"""``taintsigma coverage``: the ATT&CK Navigator layer, checked against the layer format 4.5."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from taintsigma.cli.main import cli
from taintsigma.resources import bundled_rules_dir
from taintsigma.rules.coverage import coverage_layer
from taintsigma.rules.loader import load_rules

SCHEMA = json.loads(
    (Path(__file__).parent / "schemas" / "navigator-layer-4.5.schema.json").read_text()
)
FLAGSHIP = "tainted_kernel_module_load.yml"


def validate(layer: dict) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(layer)
    gradient = layer["gradient"]
    assert gradient["maxValue"] > gradient["minValue"]  # the format's note, not expressible above


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), obj={})
    return result.exit_code, result.stdout, result.stderr


def test_flagship_layer_lists_its_two_techniques(tmp_path: Path) -> None:
    out = tmp_path / "layer.json"
    code, stdout, stderr = run("coverage", str(bundled_rules_dir() / FLAGSHIP), "-o", str(out))
    assert (code, stdout) == (0, "")
    assert stderr == f"wrote {out}: 2 technique(s)\n"
    layer = json.loads(out.read_text())
    validate(layer)
    assert layer["versions"]["layer"] == "4.5" and layer["domain"] == "enterprise-attack"
    scores = {t["techniqueID"]: t["score"] for t in layer["techniques"]}
    assert scores == {"T1014": 1, "T1547.006": 1}
    (rootkit,) = [t for t in layer["techniques"] if t["techniqueID"] == "T1014"]
    assert rootkit["comment"] == "Rootkit: 1 rule(s): Tainted Kernel Module Load"
    assert rootkit["links"][0]["url"] == "https://attack.mitre.org/techniques/T1014/"
    assert layer["filters"] == {"platforms": ["Linux"]}


def test_bundled_rules_are_scored_by_rule_count() -> None:
    code, stdout, _ = run("coverage")
    assert code == 0
    layer = json.loads(stdout)
    validate(layer)
    rules = list(load_rules())
    expected: dict[str, int] = {}
    for rule in rules:
        for tag in rule.tags:
            if tag.namespace == "attack" and tag.name.startswith("t"):
                expected[tag.name.upper()] = expected.get(tag.name.upper(), 0) + 1
    scores = {t["techniqueID"]: t["score"] for t in layer["techniques"]}
    assert scores == expected
    assert scores["T1547.006"] == len(rules) and scores["T1068"] == 1
    assert layer["gradient"]["maxValue"] == len(rules)


def test_rules_without_attack_tags_give_an_empty_valid_layer(tmp_path: Path) -> None:
    text = (bundled_rules_dir() / FLAGSHIP).read_text()
    untagged = tmp_path / "untagged.yml"
    untagged.write_text(text.replace("  - attack.t1547.006\n  - attack.t1014\n", ""))
    layer = coverage_layer(load_rules([untagged]))
    validate(layer)
    assert layer["techniques"] == []


def test_the_schema_refuses_what_the_format_forbids() -> None:
    layer = coverage_layer(load_rules([bundled_rules_dir() / FLAGSHIP]))
    for broken in (
        {**layer, "versions": {**layer["versions"], "layer": "4.4"}},
        {**layer, "domain": "enterprise"},
        {**layer, "techniques": [{"techniqueId": "T1014"}]},
        {k: v for k, v in layer.items() if k != "name"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


def test_unloadable_rules_are_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    shutil.copy(bundled_rules_dir() / FLAGSHIP, bad)
    bad.write_text("title: [unclosed\n")
    code, stdout, stderr = run("coverage", str(bad))
    assert code == 2 and stdout == ""
    assert stderr.startswith("taintsigma: error: ") and stderr.count("\n") == 1
