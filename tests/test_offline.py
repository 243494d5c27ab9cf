"""Nothing touches the network: convert and check every target with sockets blocked.

tests/conftest.py refuses every outgoing connection and DNS look-up for every test; here the
whole CLI runs under that guard, and pySigma's ATT&CK and D3FEND loaders (which download their
data from GitHub on first use) are replaced by functions that fail the test if ever called.
"""

from __future__ import annotations

import socket

import pytest
import sigma.data.mitre_attack
import sigma.data.mitre_d3fend
from click.testing import CliRunner
from conftest import NetworkBlocked
from regen_golden import BUNDLED, GOLDEN, REPO, RULE_DIRS

from taintsigma.cli.main import cli
from taintsigma.convert.targets import target_ids

CALLS: list[str] = []


@pytest.fixture(autouse=True)
def no_mitre_downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    CALLS.clear()

    def forbidden(name: str):
        def load(*args: object, **kwargs: object) -> None:
            CALLS.append(name)
            raise AssertionError(f"pySigma's {name} was called: it downloads data")

        return load

    for module, loader in (
        (sigma.data.mitre_attack, "_load_mitre_attack_data"),
        (sigma.data.mitre_attack, "urlopen"),
        (sigma.data.mitre_d3fend, "_load_mitre_d3fend_data"),
        (sigma.data.mitre_d3fend, "urlopen"),
    ):
        monkeypatch.setattr(module, loader, forbidden(f"{module.__name__}.{loader}"))
    return CALLS


def run(*args: str):
    return CliRunner().invoke(cli, list(args), obj={})


def test_the_guard_is_active() -> None:
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("198.51.100.7", 443), timeout=1)


@pytest.mark.parametrize("target_id", target_ids())
def test_convert_every_target_offline(target_id: str) -> None:
    result = run("convert", "-t", target_id)
    # 2 only for the bundled rules the target cannot express (they have an .error golden)
    unsupported = [
        p for p in BUNDLED.glob("*.yml") if (GOLDEN / target_id / f"{p.stem}.error").is_file()
    ]
    assert result.exit_code == (2 if unsupported else 0), result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == len(unsupported), result.stderr
    assert result.stdout.strip()
    result = run("convert", "-t", target_id, *map(str, RULE_DIRS))
    assert result.exit_code in (0, 2), result.stderr  # 2: a test rule the target cannot express
    assert "NetworkBlocked" not in result.stderr and "internal error" not in result.stderr
    assert CALLS == []


def test_convert_all_to_files_offline(tmp_path) -> None:
    result = run("convert", "-t", "all", "-o", str(tmp_path))
    # the journald-only variant cannot be expressed in splunk and sentinel: exit 2, files written
    assert result.exit_code == 2, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(target_ids())
    assert CALLS == []


def test_check_offline() -> None:
    for args in ((), (str(REPO / "sigma_rules"), str(REPO / "tests" / "rules"))):
        result = run("check", *args)
        assert result.exit_code == 0, result.output
        assert "NetworkBlocked" not in result.output
    assert CALLS == []
