"""Time ``taintsigma convert`` against sigma-cli on the same rules and the same pySigma.

    pip install -e ".[bench]"
    python benchmarks/bench_convert.py path/to/sigma/rules

Runs, side by side in one run (passes interleaved, wall time the median of ``--repeat``,
start-up included, peak memory the child's maximum resident set size):

1. ``sigma convert -t lucene --without-pipeline -s RULES`` (sigma-cli: the Lucene backend of
   pySigma-backend-elasticsearch, no pipeline, skipping rules it cannot convert);
2. ``taintsigma convert -t lucene RULES`` (the same backend, plus our ECS pipeline and
   faithfulness guards: more work per rule, not less);
3. sigma-cli once per target that ``taintsigma convert -t all`` converts to (the targets'
   pySigma backend ids: lucene, eql, esql, kusto, splunk, and kibana-kql through our plugin),
   summed;
4. ``taintsigma convert -t all RULES``.

Each row checks its result: the number of queries written (non-empty output blocks) must be
at least half the rules (per target), so that a command failing early cannot look fast. Prints a Markdown
table for benchmarks/RESULTS.md with the machine, the date and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench_scan import run
from machine import describe

# taintsigma target id -> sigma-cli target id (the same pySigma backend class)
SIGMA_CLI_TARGETS = {
    "lucene": "lucene",
    "eql": "eql",
    "esql": "esql",
    "kibana-kql": "kibana-kql",
    "sentinel": "kusto",
    "splunk": "splunk",
}


@dataclass
class Row:
    name: str
    walls: list[float]
    peak_mb: float
    result: str

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)


def count_queries(stdout: str, *, all_targets: bool) -> int:
    """Queries in a convert run's stdout: ``# target: stem`` headers, or non-empty lines."""
    lines = stdout.splitlines()
    if all_targets:
        return sum(1 for line in lines if line.startswith("# "))
    return sum(1 for line in lines if line.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rules", type=Path, help="A SigmaHQ rules/ folder (or any rule folder).")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-all", action="store_true", help="Lucene rows only.")
    args = parser.parse_args(argv)

    bindir = str(Path(sys.executable).parent)
    taintsigma = shutil.which("taintsigma", path=bindir) or "taintsigma"
    sigma = shutil.which("sigma", path=bindir) or shutil.which("sigma")
    if sigma is None:
        raise SystemExit("sigma-cli is not installed: pip install -e '.[bench]'")
    rule_count = len([p for p in args.rules.rglob("*") if p.suffix in (".yml", ".yaml")])
    rules = str(args.rules)

    def sigma_cli(target: str) -> list[str]:
        return [sigma, "convert", "-t", target, "--without-pipeline", "-s", rules]

    commands: dict[str, list[list[str]]] = {
        "sigma-cli, lucene": [sigma_cli("lucene")],
        "taintsigma, lucene": [[taintsigma, "convert", "-t", "lucene", rules]],
    }
    if not args.skip_all:
        commands[f"sigma-cli, once per target ({len(SIGMA_CLI_TARGETS)} runs)"] = [
            sigma_cli(t) for t in SIGMA_CLI_TARGETS.values()
        ]
        commands["taintsigma, -t all (one run)"] = [[taintsigma, "convert", "-t", "all", rules]]
    rows = {name: Row(name, [], 0.0, "") for name in commands}
    aborted: dict[str, str] = {}  # sigma-cli command -> its error: left out of every sum
    load = os.getloadavg()
    for _ in range(args.repeat):  # interleaved: load slows every command alike
        for name, runs in commands.items():
            wall, results = 0.0, []
            for command in runs:
                if " ".join(command) in aborted:
                    continue
                seconds, peak, stdout, stderr = run(command, ok=(0, 1, 2))  # 2: rules refused
                queries = count_queries(stdout, all_targets="all" in command)
                if command[0] == sigma and queries == 0:
                    # sigma-cli stops at the first rule raising NotImplementedError (which
                    # pySigma's collect_errors does not catch): no output for this target.
                    aborted[" ".join(command)] = stderr.strip().splitlines()[-1][:200]
                    continue
                floor = 0.5 * rule_count * (len(SIGMA_CLI_TARGETS) if "all" in command else 1)
                if queries < floor:
                    raise SystemExit(f"{' '.join(command)}: only {queries} queries")
                wall += seconds
                rows[name].peak_mb = max(rows[name].peak_mb, peak)
                results.append(queries)
            rows[name].walls.append(wall)
            rows[name].result = f"{sum(results):,} queries"
    if aborted:  # the sums of the first pass included nothing of them; passes agree anyway
        for name, row in rows.items():
            if "per target" in name:
                done = len(SIGMA_CLI_TARGETS) - len(aborted)
                row.name = f"sigma-cli, once per target it completes ({done} runs)"
    load_after = os.getloadavg()

    print(f"Machine: {describe()}  ")
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  ")
    print(f"Load average: {load[0]:.1f} before, {load_after[0]:.1f} after  ")
    print(f"Rules: {rule_count:,} files in {rules}; median of {args.repeat} interleaved runs\n")
    print("| command | wall time | × sigma-cli | peak memory | result |")
    print("| --- | ---: | ---: | ---: | --- |")
    peers = {"lucene": rows["sigma-cli, lucene"].wall}
    if not args.skip_all:
        peers["all"] = next(r.wall for n, r in rows.items() if "once per target" in n)
    for name, row in rows.items():
        peer = peers["all" if "all" in name or "per target" in name else "lucene"]
        print(
            f"| {row.name} | {row.wall:.2f} s | {row.wall / peer:.2f} | {row.peak_mb:.0f} MiB "
            f"| {row.result} |"
        )
    for command, message in aborted.items():
        print(f"\nsigma-cli aborted, left out of the sum: `{command}`: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
