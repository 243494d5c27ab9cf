"""Loading rules: files and folders in rule-file order, broken files named, never a crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from regen_golden import REPO

from taintsigma import ErrorPolicy, RuleLoadError, load_rules
from taintsigma.rules.loader import output_stems, rule_files

RULES = REPO / "tests" / "rules"


def test_bundled_rules_load() -> None:
    loaded = load_rules()
    assert [r.title for r in loaded] == [
        "Forced Kernel Module Load",
        "Kernel Module Load System Call (auditd)",
        "Kernel Livepatch Module Load",
        "Out-of-Tree Kernel Module Load",
        "Proprietary or Unknown Licence Kernel Module Load",
        "Staging Kernel Module Load",
        "Tainted Kernel Module Load",
        "Tainted Kernel Module Load (journald, kernel transport only)",
        "Unsigned Kernel Module Load Rejected",
    ]
    assert loaded.errors == []


def test_folder_order_is_sorted_and_events_folders_are_skipped(tmp_path: Path) -> None:
    for name in ("b_rule.yml", "a_rule.yaml", "notes.txt", ".hidden.yml"):
        (tmp_path / name).write_text("", encoding="utf-8")
    (tmp_path / "a_rule.events" / "positive").mkdir(parents=True)
    (tmp_path / "a_rule.events" / "positive" / "x.yml").write_text("", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c_rule.yml").write_text("", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in rule_files([tmp_path])] == [
        "a_rule.yaml",
        "b_rule.yml",
        "sub/c_rule.yml",
    ]


def test_raise_policy_stops_at_the_first_broken_file(tmp_path: Path) -> None:
    (tmp_path / "broken.yml").write_text("title: [x\n", encoding="utf-8")
    with pytest.raises(RuleLoadError) as caught:
        load_rules([tmp_path])
    assert str(caught.value).startswith(f"{tmp_path}/broken.yml:2: invalid YAML: ")


def test_collect_policy_keeps_the_good_rules(tmp_path: Path) -> None:
    (tmp_path / "broken.yml").write_text("just a string\n", encoding="utf-8")
    (tmp_path / "empty.yml").write_text("", encoding="utf-8")
    loaded = load_rules(
        [RULES / "value_lists.yml", tmp_path, tmp_path / "absent.yml"], on_error=ErrorPolicy.COLLECT
    )
    assert [r.title for r in loaded] == ["Test - value list on a keyword field"]
    # paths are expanded first, then each file is parsed
    assert [str(e) for e in loaded.errors] == [
        f"{tmp_path}/absent.yml: no such file or folder",
        f"{tmp_path}/broken.yml: not a Sigma rule: the document is not a mapping",
        f"{tmp_path}/empty.yml: empty file: no Sigma rule in it",
    ]


def test_not_utf8_is_named(tmp_path: Path) -> None:
    (tmp_path / "latin1.yml").write_bytes(b"title: caf\xe9\n")
    loaded = load_rules([tmp_path], on_error=ErrorPolicy.COLLECT)
    assert [str(e) for e in loaded.errors] == [f"{tmp_path}/latin1.yml: not UTF-8 text (byte 10)"]


def test_fifo_inside_a_folder_is_refused_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yml")
    loaded = load_rules([tmp_path], on_error=ErrorPolicy.COLLECT)
    assert [str(e) for e in loaded.errors] == [f"{tmp_path}/pipe.yml: not a regular file"]


def test_output_stems_are_unique_per_file() -> None:
    loaded = load_rules([RULES])
    stems = output_stems(loaded.collection.rules)
    assert stems == [p.stem for p in rule_files([RULES])]


def test_v21_modifiers_load_without_the_evaluator(tmp_path: Path) -> None:
    # utf16le is Sigma v2.1 but not pySigma 1.5; load_rules registers it itself, so convert and
    # check (which never import the evaluator) accept it. A fresh interpreter proves the order.
    import subprocess
    import sys

    rule = tmp_path / "utf16.yml"
    rule.write_text(
        "title: utf16le rule\nid: 6f1c3f7e-8d5e-4c49-9a57-3f2b6d0c1a11\nstatus: test\n"
        "logsource: {product: linux, service: syslog}\n"
        "detection:\n  sel:\n    message|utf16le|base64offset|contains: evil\n"
        "  condition: sel\nlevel: low\n",
        encoding="utf-8",
    )
    code = (
        "import sys; from taintsigma.rules.loader import load_rules; "
        f"rules = load_rules([{str(rule)!r}]); "
        "assert 'taintsigma.evaluate' not in sys.modules; print(len(rules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
