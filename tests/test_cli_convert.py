"""``taintsigma convert`` and ``taintsigma targets`` through the command line: outputs, files,
exit codes and one-line errors."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import deny_access
from regen_golden import GOLDEN, REPO, TARGETS

from taintsigma.cli.main import cli
from taintsigma.convert.targets import target_ids

RULES = REPO / "tests" / "rules"
FLAGSHIP = str(REPO / "sigma_rules" / "tainted_kernel_module_load.yml")
BUNDLED_STEMS = sorted(p.stem for p in (REPO / "sigma_rules").glob("*.yml"))
FLAGSHIP_KQL = (
    'host.os.type:linux and event.dataset:"system.syslog" and process.name:kernel and '
    'message:"module verification failed: signature and/or required key missing - tainting kernel"'
)
# Sigma ignores case, KQL's process.name:kernel does not (a keyword): said once, on stderr.
CASE_NOTE = "compared case-sensitively (Elasticsearch keyword or wildcard field)"
FLAGSHIP_CASE = (
    "taintsigma: warning: rule 05cad2fb-200c-407f-b472-02ea8c9e5e4a (kibana-kql): field "
    "'process.name': compared case-sensitively (Elasticsearch keyword or wildcard field), while "
    "Sigma ignores case: an event writing the value in another case is missed\n"
)
EXT = {"kibana-kql": "kql", "lucene": "lucene", "eql": "eql", "esql": "esql", "splunk": "spl"}


def run(*args: str):
    return CliRunner().invoke(cli, list(args), obj={})


def golden(target_id: str, stem: str) -> str:
    return (GOLDEN / target_id / f"{stem}.{EXT[target_id]}").read_text(encoding="utf-8")


def stderr_lines(result) -> list[str]:
    return result.stderr.splitlines()


@pytest.fixture()
def two_rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in ("value_lists.yml", "numeric_pid.yml"):
        shutil.copy(RULES / name, folder / name)
    return folder


def test_default_rules_to_stdout_is_the_seed_query() -> None:
    result = run("convert", "-t", "kibana-kql")
    assert result.exit_code == 0, result.stderr
    # every bundled rule, in file order, the flagship's query among them
    assert result.stdout == "\n".join(golden("kibana-kql", stem) for stem in BUNDLED_STEMS)
    assert FLAGSHIP_KQL in result.stdout.splitlines()
    # stderr: only the case notes (process.name is a case-sensitive keyword), one per rule
    lines = stderr_lines(result)
    assert lines and all(CASE_NOTE in line for line in lines)
    assert len(lines) == len({line.split(" (")[0] for line in lines})
    alone = run("convert", "-t", "kibana-kql", FLAGSHIP)
    assert (alone.exit_code, alone.stdout, alone.stderr) == (0, FLAGSHIP_KQL + "\n", FLAGSHIP_CASE)


def test_queries_separated_by_a_blank_line_in_rule_file_order(two_rules: Path) -> None:
    result = run("convert", "-t", "lucene", str(two_rules))
    assert result.exit_code == 0, result.stderr
    # files of a folder in sorted order: numeric_pid before value_lists
    assert result.stdout == golden("lucene", "numeric_pid") + "\n" + golden("lucene", "value_lists")


def test_argument_order_is_kept(two_rules: Path) -> None:
    result = run(
        "convert",
        "-t",
        "splunk",
        str(two_rules / "value_lists.yml"),
        str(two_rules / "numeric_pid.yml"),
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == golden("splunk", "value_lists") + "\n" + golden("splunk", "numeric_pid")


def test_output_dir_one_file_per_rule(two_rules: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("convert", "-t", "esql", "-o", str(out), str(two_rules))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in out.iterdir()) == ["numeric_pid.esql", "value_lists.esql"]
    for path in out.iterdir():
        assert path.read_text(encoding="utf-8") == golden("esql", path.stem)


def test_all_targets_into_subfolders_match_the_goldens(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("convert", "-t", "all", "-o", str(out), str(REPO / "sigma_rules"), str(RULES))
    # tests/rules holds rules some targets cannot express: reported, the rest still written
    assert result.exit_code == 2
    assert sorted(p.name for p in out.iterdir()) == sorted(target_ids())
    errors = [line for line in stderr_lines(result) if line.startswith("taintsigma: error: ")]
    for target_id in TARGETS:
        written = sorted(p.name for p in (out / target_id).iterdir())
        expected = sorted(p.name for p in (GOLDEN / target_id).glob(f"*.{EXT[target_id]}"))
        assert written == expected
        for name in written:
            assert (out / target_id / name).read_bytes() == (GOLDEN / target_id / name).read_bytes()
        for stem in {Path(n).stem for n in written} | {
            p.stem for p in (GOLDEN / target_id).glob("*.error")
        }:
            mentions = [e for e in errors if f"target '{target_id}'" in e and f"/{stem}.yml" in e]
            assert len(mentions) == (1 if (GOLDEN / target_id / f"{stem}.error").is_file() else 0)


def test_all_targets_to_stdout_labels_each_query() -> None:
    result = run("convert", "-t", "all", FLAGSHIP)
    assert result.exit_code == 0, result.stderr
    blocks = result.stdout.rstrip("\n").split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [
        f"# {t}: tainted_kernel_module_load" for t in target_ids()
    ]
    for block in blocks:
        target_id = block.splitlines()[0][2:].split(":")[0]
        if target_id in TARGETS:
            assert block.split("\n", 1)[1] + "\n" == golden(target_id, "tainted_kernel_module_load")
    assert blocks[0].splitlines()[1] == FLAGSHIP_KQL


def test_all_skips_targets_whose_optional_backend_is_missing(monkeypatch) -> None:
    # Every bundled target is a core dependency today; a target.yml may still name an optional
    # package (`requires:`), so the sentinel target is made one here.
    from taintsigma.cli import convert as cli_convert
    from taintsigma.convert import targets as targets_module

    real = targets_module.load_targets

    def with_optional(ids):
        return [
            dataclasses.replace(t, requires="taintsigma[sentinel]") if t.id == "sentinel" else t
            for t in real(ids)
        ]

    monkeypatch.setattr(cli_convert, "load_targets", with_optional)
    optional = [t for t in with_optional(["all"]) if t.requires]
    assert [t.id for t in optional] == ["sentinel"]
    for target in optional:  # None in sys.modules makes the import fail, as if not installed
        monkeypatch.setitem(sys.modules, target.backend.partition(":")[0], None)
    result = run("convert", "-t", "all", FLAGSHIP)
    assert result.exit_code == 0, result.stderr
    assert [b.splitlines()[0] for b in result.stdout.rstrip("\n").split("\n\n")] == [
        f"# {t.id}: tainted_kernel_module_load" for t in with_optional(["all"]) if not t.requires
    ]
    skipped = [line for line in stderr_lines(result) if "skipping target" in line]
    assert [line.split("'")[1] for line in skipped] == [t.id for t in optional]
    assert all("pip install" in line for line in skipped)
    alone = run("convert", "-t", optional[0].id, FLAGSHIP)
    assert alone.exit_code == 2
    assert "which is not installed" in alone.stderr


def test_target_option_elastic_agent() -> None:
    result = run("convert", "-t", "kibana-kql", "-O", "elastic-agent", FLAGSHIP)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == FLAGSHIP_KQL.replace("event.dataset", "data_stream.dataset") + "\n"


def test_esql_elastic_agent_reads_only_the_integration_data_stream() -> None:
    result = run("convert", "-t", "esql", "-O", "elastic-agent", FLAGSHIP)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == golden("esql", "tainted_kernel_module_load").replace(
        "from filebeat-*,logs-system.syslog-* ", "from logs-system.syslog-* "
    ).replace("event.dataset", "data_stream.dataset")


def test_unknown_option_is_a_usage_error() -> None:
    result = run("convert", "-t", "splunk", "-O", "elastic-agent")
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        "taintsigma: error: target 'splunk' has no option 'elastic-agent' (its options: sysmon)"
    ]


def test_targets_lists_every_target_and_its_options() -> None:
    result = run("targets")
    assert result.exit_code == 0, result.stderr
    ids = [line.split()[0] for line in result.stdout.splitlines() if line and not line[0].isspace()]
    assert ids[: len(TARGETS)] == list(TARGETS)
    assert "-O elastic-agent" in result.stdout
    assert "(.spl)" in result.stdout
    logsources = [line for line in result.stdout.splitlines() if "logsources:" in line]
    assert len(logsources) == len(TARGETS) + 1  # sentinel too (compared by its own test)
    assert all("linux/process_creation" in line and "linux/sshd" in line for line in logsources)


def test_unknown_target_suggests_the_close_one() -> None:
    result = run("convert", "-t", "kql")
    assert result.exit_code == 2
    assert result.stdout == ""
    [line] = stderr_lines(result)
    assert line.startswith("taintsigma: error: unknown target 'kql'; did you mean 'kibana-kql'?")


def test_debug_shows_the_traceback() -> None:
    result = run("--debug", "convert", "-t", "kql")
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "TargetNotFoundError" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("taintsigma: error: unknown target")


def _broken(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BROKEN = {
    "invalid_yaml.yml": ("title: [unclosed\nid: 1\n", "invalid_yaml.yml:2: invalid YAML: "),
    "no_detection.yml": (
        "title: x\nlogsource:\n  product: linux\nlevel: low\n",
        "no_detection.yml: not a Sigma rule: it has no 'detection'",
    ),
    "bad_modifier.yml": (
        (
            "title: x\nid: 8d0f3c52-3a4b-4f43-b6d4-2d1f6a0e9c11\nlogsource:\n  product: linux\n"
            "  service: syslog\ndetection:\n  sel:\n    message|nosuchmod: x\n  condition: sel\n"
        ),
        "bad_modifier.yml: rule 8d0f3c52-3a4b-4f43-b6d4-2d1f6a0e9c11: Unknown modifier 'nosuchmod'",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
@pytest.mark.parametrize("command", ["convert", "check"])
def test_broken_rule_is_one_line_and_exit_2(tmp_path: Path, name: str, command: str) -> None:
    text, expected = BROKEN[name]
    path = _broken(tmp_path, name, text)
    args = [command, str(path)] + (["-t", "splunk"] if command == "convert" else [])
    result = run(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in stderr_lines(result) if line.startswith("taintsigma: error: ")]
    assert len(errors) == 1
    assert errors[0] == f"taintsigma: error: {tmp_path}/{expected}" or errors[0].startswith(
        f"taintsigma: error: {tmp_path}/{expected}"
    )


def test_missing_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run("convert", "-t", "splunk", str(tmp_path / "nope.yml"))
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        f"taintsigma: error: {tmp_path}/nope.yml: no such file or folder"
    ]


def test_unreadable_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "secret.yml"
    shutil.copy(RULES / "value_lists.yml", path)
    with deny_access(path):
        result = run("convert", "-t", "splunk", str(path))
    assert result.exit_code == 2
    assert stderr_lines(result) == [f"taintsigma: error: {path}: cannot read: Permission denied"]


def test_unreadable_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    with deny_access(folder):
        result = run("convert", "-t", "splunk", str(folder))
    assert result.exit_code == 2
    assert stderr_lines(result) == [
        f"taintsigma: error: {folder}: cannot read folder: Permission denied"
    ]


def test_unreadable_special_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # Works as root too (permissions do not stop root): a FIFO cannot be read as a rule file
    # (reading it would block), so it is refused by name, passed directly or inside a folder.
    fifo = tmp_path / "pipe.yml"
    os.mkfifo(fifo)
    direct = run("convert", "-t", "splunk", str(fifo))
    assert direct.exit_code == 2
    assert stderr_lines(direct) == [f"taintsigma: error: {fifo}: not a regular file or folder"]
    shutil.copy(RULES / "value_lists.yml", tmp_path / "good.yml")
    in_folder = run("convert", "-t", "splunk", str(tmp_path))
    assert in_folder.exit_code == 2
    assert in_folder.stdout == golden("splunk", "value_lists")
    assert stderr_lines(in_folder) == [f"taintsigma: error: {fifo}: not a regular file"]


def test_over_long_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / ("x" * 300 + ".yml")
    result = run("convert", "-t", "splunk", str(path))
    assert result.exit_code == 2
    assert stderr_lines(result) == [f"taintsigma: error: {path}: cannot access: File name too long"]


def test_folder_with_one_bad_rule_converts_the_good_ones(two_rules: Path) -> None:
    _broken(two_rules, "broken.yml", BROKEN["invalid_yaml.yml"][0])
    result = run("convert", "-t", "lucene", str(two_rules))
    assert result.exit_code == 2
    assert result.stdout == golden("lucene", "numeric_pid") + "\n" + golden("lucene", "value_lists")
    [line] = [line for line in stderr_lines(result) if CASE_NOTE not in line]
    assert line.startswith(f"taintsigma: error: {two_rules}/broken.yml:2: invalid YAML: ")


def test_unsupported_rule_is_reported_and_the_others_convert(two_rules: Path) -> None:
    shutil.copy(RULES / "facility.yml", two_rules / "facility.yml")
    result = run("convert", "-t", "splunk", str(two_rules))
    assert result.exit_code == 2
    assert result.stdout == golden("splunk", "numeric_pid") + "\n" + golden("splunk", "value_lists")
    [line] = stderr_lines(result)
    assert line.startswith(f"taintsigma: error: {two_rules}/facility.yml: rule ")
    assert "cannot convert for target 'splunk': field 'facility'" in line


def test_console_script_in_a_real_process() -> None:
    script = Path(sys.executable).parent / "taintsigma"
    if not script.exists():
        found = shutil.which("taintsigma")
        assert found, "the taintsigma console script is not installed"
        script = Path(found)
    done = subprocess.run(
        [str(script), "convert", "-t", "kibana-kql", FLAGSHIP],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, FLAGSHIP_KQL + "\n", FLAGSHIP_CASE)
    failed = subprocess.run(
        [str(script), "convert", "-t", "kql"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert failed.stderr.count("\n") == 1
    assert "did you mean 'kibana-kql'?" in failed.stderr


@pytest.mark.parametrize("args", [["targets"], ["convert", "-t", "all"]], ids=["targets", "convert"])
def test_a_reader_that_stops_early_is_no_internal_error(args: list[str]) -> None:
    """`taintsigma targets | head -1`: the closed pipe ends the command quietly (exit 141)."""
    done = subprocess.run(
        f"{sys.executable} -m taintsigma.cli.main {' '.join(args)} | head -c 1",
        shell=True, capture_output=True, text=True, check=False, timeout=120,
        executable="/bin/bash",
    )  # fmt: skip
    assert "internal error" not in done.stderr
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
