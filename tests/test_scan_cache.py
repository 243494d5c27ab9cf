"""The compiled-rule cache (issue 14): a warm scan imports no pySigma and alerts exactly as a
fresh compile does; stale, damaged or planted entries are rebuilt, never trusted."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from taintsigma.resources import bundled_rules_dir
from taintsigma.scan.cache import cache_dir, open_cache
from taintsigma.scan.routing import compile_for_scan
from taintsigma.scan.run import scan_paths

REPO = Path(__file__).resolve().parent.parent
SIGMAHQ = REPO / "tests" / "corpus" / "sigmahq" / "rules" / "linux"
INPUTS = [
    REPO / "samples",
    REPO / "tests" / "fixtures" / "telemetry",
    REPO / "tests" / "fixtures" / "adapters",
]
TAINT = "module verification failed: signature and/or required key missing - tainting kernel"
SCHEMAS = ("ecs", "sigma", "plain")


def taintsigma(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``taintsigma ARGS`` in a fresh interpreter; its stdout ends with the names of the
    pySigma-side modules it imported (after a NUL line)."""
    code = (
        "import sys\n"
        "from taintsigma.cli.main import cli\n"
        "try:\n"
        f"    cli.main({list(args)!r}, obj={{}})\n"
        "except SystemExit as done:\n"
        "    status = done.code\n"
        "heavy = sorted(m for m in ('sigma', 'pyparsing', 'jinja2', 'yaml') if m in sys.modules)\n"
        "sys.stdout.flush()\n"
        "sys.stdout.write('\\0\\n' + ' '.join(heavy) + '\\n')\n"
        "sys.exit(status)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
        timeout=300,
    )


def split(done: subprocess.CompletedProcess) -> tuple[str, list[str]]:
    out, _, heavy = done.stdout.rpartition("\0\n")
    return out, heavy.split()


def entries() -> list[Path]:
    folder = cache_dir()
    return sorted(folder.glob("*.json")) if folder.exists() else []


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder / "taintsigma"


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    return path


@pytest.fixture
def syslog(tmp_path: Path) -> Path:
    path = tmp_path / "syslog"
    path.write_text(
        f"2026-11-26T03:10:16.000000+00:00 web1 kernel: evil: {TAINT}\n"
        "2026-11-26T03:10:17.000000+00:00 web1 sshd[9]: Accepted publickey for alice\n"
    )
    return path


def test_a_warm_scan_imports_no_pysigma(empty: Path) -> None:
    cold = taintsigma("scan", str(empty))
    assert cold.returncode == 0, cold.stderr
    assert "sigma" in split(cold)[1]
    assert len(entries()) == 1
    warm = taintsigma("scan", str(empty))
    assert warm.returncode == 0, warm.stderr
    assert split(warm)[1] == []  # neither pySigma nor pyparsing, jinja2, PyYAML
    assert warm.stderr == cold.stderr


def test_no_cache_neither_reads_nor_writes(empty: Path) -> None:
    done = taintsigma("scan", "--no-cache", str(empty))
    assert done.returncode == 0, done.stderr
    assert entries() == []
    taintsigma("scan", str(empty))
    (entry,) = entries()
    before = entry.stat().st_mtime_ns
    again = taintsigma("scan", "--no-cache", str(empty))
    assert "sigma" in split(again)[1]  # compiled afresh although the cache has the rules
    assert entry.stat().st_mtime_ns == before


@pytest.mark.parametrize("rules", [[], ["-r", str(bundled_rules_dir()), "-r", str(SIGMAHQ)]])
def test_warm_alerts_equal_fresh_ones(rules: list[str]) -> None:
    args = ["scan", *rules, "--json", "--timezone", "UTC", *map(str, INPUTS)]
    fresh = taintsigma(*args, "--no-cache")
    cold = taintsigma(*args)
    warm = taintsigma(*args)
    assert fresh.returncode == 1, fresh.stderr
    assert split(warm)[1] == []
    for done in (cold, warm):
        assert done.returncode == fresh.returncode
        assert split(done)[0] == split(fresh)[0]
        assert done.stderr == fresh.stderr
    assert len(split(fresh)[0].splitlines()) > 10


def test_the_library_switch(syslog: Path) -> None:
    plain = [a.to_dict() for a in scan_paths(syslog, timezone="UTC")]
    assert entries() == []  # the library caches only when asked to
    cold = [a.to_dict() for a in scan_paths(syslog, timezone="UTC", cache=True)]
    assert len(entries()) == 1
    compiled = compile_for_scan(None, cache=True)
    assert compiled.loaded is None  # served by the cache: the rules were not even loaded
    warm = [a.to_dict() for a in scan_paths(syslog, compiled, timezone="UTC")]
    assert plain == cold == warm
    assert [a["rule"]["name"] for a in warm] == ["Tainted Kernel Module Load"]


def test_plans_survive_the_trip_through_json() -> None:
    """What the cache stores reads back equal: the built closures are the same."""
    compiled = compile_for_scan([bundled_rules_dir(), SIGMAHQ])
    for schema in SCHEMAS:
        matcher = compiled.for_format({"plain": "json"}.get(schema, schema)).matcher
        assert len(matcher.rules) > 200
        for rule in matcher.rules:
            assert orjson.loads(orjson.dumps(rule.plan)) == rule.plan
            header = type(rule.header).from_dict(orjson.loads(orjson.dumps(rule.header.to_dict())))
            assert header == rule.header


def _warm_entry(syslog: Path) -> Path:
    assert taintsigma("scan", str(syslog)).returncode == 1
    (entry,) = entries()
    return entry


def _rebuilt(syslog: Path, entry: Path) -> None:
    """The damaged entry is not trusted: the rules are compiled again, the alert is right,
    the entry is whole again and serves the next scan."""
    done = taintsigma("scan", "--json", str(syslog))
    assert done.returncode == 1, done.stderr
    out, heavy = split(done)
    assert "sigma" in heavy
    assert [orjson.loads(line)["rule"]["name"] for line in out.splitlines()] == [
        "Tainted Kernel Module Load"
    ]
    assert entries() == [entry]
    warm = taintsigma("scan", "--json", str(syslog))
    assert split(warm) == (out, [])


def _rewrite(entry: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Change the entry's body and give it a digest that matches (only the plan is wrong)."""
    head, _, body = entry.read_bytes().partition(b"\n")
    content = orjson.loads(body)
    change(content)
    data = orjson.dumps(content)
    fields = orjson.loads(head)
    fields["digest"] = hashlib.sha256(data).hexdigest()
    entry.write_bytes(orjson.dumps(fields) + b"\n" + data)


@pytest.mark.parametrize(
    "damage",
    [
        "truncated",
        "empty",
        "flipped byte",
        "not json",
        "other format",
        "broken plan",
        "plan of a wrong type",
        "header of a wrong type",
        "missing schema list",
    ],
)
def test_a_damaged_entry_is_rebuilt(syslog: Path, damage: str) -> None:
    entry = _warm_entry(syslog)
    data = entry.read_bytes()
    if damage == "truncated":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "flipped byte":
        at = data.index(b"tainting kernel")
        entry.write_bytes(data[:at] + b"T" + data[at + 1 :])
    elif damage == "not json":
        entry.write_bytes(b"\x00\xff garbage\n\x01")
    elif damage == "other format":
        head, _, body = data.partition(b"\n")
        fields = orjson.loads(head)
        fields["format"] += 1
        entry.write_bytes(orjson.dumps(fields) + b"\n" + body)
    elif damage == "broken plan":
        _rewrite(entry, lambda c: c["schemas"]["ecs"][0]["plan"].update(conditions=[["det", "x"]]))
    elif damage == "plan of a wrong type":
        _rewrite(entry, lambda c: c["schemas"]["ecs"][-1].update(plan={"conditions": 3}))
    elif damage == "header of a wrong type":
        _rewrite(entry, lambda c: c["schemas"]["ecs"][-1]["header"].update(title=["x"]))
    else:
        _rewrite(entry, lambda c: c.update(schemas={"ecs": 1}))
    _rebuilt(syslog, entry)


def test_an_entry_others_may_write_is_not_trusted(syslog: Path) -> None:
    entry = _warm_entry(syslog)
    entry.chmod(0o666)
    _rebuilt(syslog, entry)
    assert entry.stat().st_mode & 0o777 == 0o600


def test_an_entry_planted_under_another_key_is_rebuilt(syslog: Path, tmp_path: Path) -> None:
    """A well-formed entry of another rule set, renamed to this one's key, is not used."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "rule.yml").write_text(
        "title: Anything\nid: 5a1e7c1e-0000-4000-8000-000000000001\n"
        "logsource: {product: linux}\ndetection: {k: [alice], condition: k}\nlevel: low\n"
    )
    assert taintsigma("scan", "-r", str(other), str(syslog)).returncode == 1
    (planted,) = entries()
    own = open_cache([bundled_rules_dir()], "re2")
    assert own is not None and own.body is None
    target = planted.with_name(f"{own.key}.json")
    planted.rename(target)
    _rebuilt(syslog, target)


def test_an_edited_rule_is_never_served_stale(tmp_path: Path, syslog: Path) -> None:
    folder = tmp_path / "rules"
    shutil_copy(bundled_rules_dir(), folder)
    flagship = folder / "tainted_kernel_module_load.yml"
    assert taintsigma("scan", "-r", str(folder), str(syslog)).returncode == 1
    assert len(entries()) == 1
    flagship.write_text(flagship.read_text().replace("tainting kernel", "tainting kernal"))
    done = taintsigma("scan", "--json", "-r", str(folder), str(syslog))
    assert "sigma" in split(done)[1]
    assert done.returncode == 0, done.stderr  # the edited rule no longer matches
    assert len(entries()) == 2


def shutil_copy(source: Path, target: Path) -> None:
    import shutil

    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.events"))


@pytest.mark.parametrize("how", ["a file in the way", "a read-only folder"])
def test_an_unwritable_cache_folder_warns_once_and_scans(
    syslog: Path, tmp_path: Path, how: str
) -> None:
    base = tmp_path / "blocked"
    if how == "a file in the way":
        base.write_text("")
    else:
        (base / "taintsigma").mkdir(parents=True)
        (base / "taintsigma").chmod(0o500)
        if os.access(base / "taintsigma", os.W_OK):
            pytest.skip("running as a user who may write to a read-only folder (root)")
    done = taintsigma("scan", "--json", str(syslog), env={"XDG_CACHE_HOME": str(base)})
    assert done.returncode == 1
    warnings = [line for line in done.stderr.splitlines() if "compiled-rule cache" in line]
    assert len(warnings) == 1, done.stderr
    assert warnings[0].startswith("taintsigma: warning: cannot write the compiled-rule cache")
    assert len(split(done)[0].splitlines()) == 1


def test_rule_sets_with_problems_are_not_cached(tmp_path: Path, syslog: Path) -> None:
    """A broken rule file is reported on every scan: such a set is compiled every time."""
    folder = tmp_path / "rules"
    shutil_copy(bundled_rules_dir(), folder)
    (folder / "broken.yml").write_text("title: [unclosed\n")
    for _ in range(2):
        done = taintsigma("scan", "-r", str(folder), str(syslog))
        assert done.returncode == 2
        assert "broken.yml" in done.stderr
    assert entries() == []


def test_a_set_with_a_correlation_rule_is_compiled_every_time(tmp_path: Path) -> None:
    """Correlations need the rules themselves: such a set keeps today's path, and fires."""
    burst = REPO / "tests" / "fixtures" / "correlations" / "tainted_kernel_module_burst.yml"
    lines = "".join(
        f"2026-11-26T03:10:{10 + i:02d}.000000+00:00 web1 kernel: m{i}: {TAINT}\n" for i in range(5)
    )
    log = tmp_path / "burst.log"
    log.write_text(lines)
    args = ["scan", "--json", "-r", str(bundled_rules_dir()), "-r", str(burst), str(log)]
    outputs = []
    for _ in range(2):
        done = taintsigma(*args)
        assert done.returncode == 1, done.stderr
        out, heavy = split(done)
        assert "sigma" in heavy
        outputs.append(out)
    names = [orjson.loads(line)["rule"]["name"] for line in outputs[0].splitlines()]
    assert "Tainted Kernel Module Loads in a Burst" in names
    assert outputs[0] == outputs[1]
    assert entries() == []
