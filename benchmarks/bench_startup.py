"""Where ``taintsigma scan``'s start-up goes, and what the rule loader's changes saved.

    python benchmarks/bench_startup.py [--sigmahq path/to/sigma/rules/linux]

1. ``taintsigma scan`` of an empty file (wall time, median of ``--repeat`` runs, start-up is
   all there is): the bundled rules, and the bundled rules plus ``--sigmahq``, each with a
   warm compiled-rule cache (a throw-away ``XDG_CACHE_HOME``, filled by one untimed run) and
   with ``--no-cache``; taintsigma's modules are byte-compiled first, as an installed wheel's
   are (``PYTHONDONTWRITEBYTECODE`` would otherwise make every run compile them again);
2. ``python -c pass`` and ``python -X importtime`` of the scan command's imports with a warm
   cache (the slowest top-level imports, cumulative);
3. in one process, loading and compiling the rules as ``scan`` does, passes interleaved
   (best of ``--repeat``): with libyaml's C loader and the cycle collector paused (today)
   against PyYAML's pure-Python loader with the collector running (before issue 14).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from bench_scan import run
from machine import describe, installed_like_a_user

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BUNDLED = REPO / "sigma_rules"


def empty_scans(rule_sets: dict[str, list[str]], repeat: int) -> dict[str, float]:
    taintsigma = str(Path(sys.executable).parent / "taintsigma")
    empty = Path(os.environ.get("TMPDIR", "/tmp")) / "taintsigma-empty.log"
    empty.write_bytes(b"")
    commands = {"python -c pass": [sys.executable, "-c", "pass"]}
    for name, args in rule_sets.items():
        commands[f"{name}, warm cache"] = [taintsigma, "scan", *args, str(empty)]
        commands[f"{name}, --no-cache"] = [taintsigma, "scan", "--no-cache", *args, str(empty)]
    for name, command in commands.items():
        if name.endswith("warm cache"):
            run(command)  # fills the cache
    walls: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            walls[name].append(run(command)[0])
    return {name: statistics.median(w) for name, w in walls.items()}


def import_profile(top: int = 12) -> list[tuple[int, str]]:
    """The slowest top-level imports of ``taintsigma scan`` (µs, cumulative)."""
    code = (
        "import sys; sys.argv = ['taintsigma', 'scan', '/dev/null'];"
        "from taintsigma.cli.main import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=False,  # `scan /dev/null` exits 2 (not a regular file): the imports are done
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part for part in line.split("|"))
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top level only
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:top]


def load_and_compile(paths: list[Path], repeat: int) -> dict[str, float]:
    from taintsigma.convert.pipelines import taintsigma_ecs_syslog
    from taintsigma.errors import ErrorPolicy
    from taintsigma.evaluate.ruleset import compile_rules
    from taintsigma.rules import loader, yamltext

    best = {"today": float("inf"), "before": float("inf")}
    fast_loader = yamltext.SAFE_LOADER
    for _ in range(repeat):
        for name in ("today", "before"):
            before = name == "before"
            yamltext.SAFE_LOADER = yaml.SafeLoader if before else fast_loader
            load = loader.load_rules.__wrapped__ if before else loader.load_rules
            build = compile_rules.__wrapped__ if before else compile_rules
            start = time.perf_counter()
            loaded = load(paths, on_error=ErrorPolicy.COLLECT)
            build(loaded, taintsigma_ecs_syslog(), on_error=ErrorPolicy.COLLECT)
            best[name] = min(best[name], time.perf_counter() - start)
    yamltext.SAFE_LOADER = fast_loader
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigmahq", type=Path, help="A SigmaHQ rules/linux folder.")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    rule_sets = {"`taintsigma scan` empty file, bundled rules": []}
    paths = [BUNDLED]
    if args.sigmahq is not None:
        count = len(list(args.sigmahq.rglob("*.yml")))
        rule_sets[f"`taintsigma scan` empty file, bundled + {count} SigmaHQ rules"] = [
            "-r", str(BUNDLED), "-r", str(args.sigmahq),
        ]  # fmt: skip
        paths.append(args.sigmahq)
    installed_like_a_user()
    load = os.getloadavg()[0]
    walls = empty_scans(rule_sets, args.repeat)
    imports = import_profile()
    inside = load_and_compile(paths, args.repeat)
    print(f"Machine: {describe()}  ")
    print(f"Load average: {load:.1f} before, {os.getloadavg()[0]:.1f} after  \n")
    print("| command | wall time (median) |\n| --- | ---: |")
    for name, wall in walls.items():
        print(f"| {name} | {wall:.3f} s |")
    print("\nSlowest top-level imports of `taintsigma scan` (cumulative, `-X importtime`):\n")
    print("| module | ms |\n| --- | ---: |")
    for micros, name in imports:
        print(f"| `{name}` | {micros / 1000:.1f} |")
    print(f"\nLoading and compiling {', '.join(p.name for p in paths)} in one process, best of "
          f"{args.repeat}: today {inside['today']:.3f} s, before issue 14 (pure-Python YAML, "
          f"collector running) {inside['before']:.3f} s.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
