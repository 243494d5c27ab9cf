"""Time ``taintsigma convert`` against sigma-cli on the same rules and the same pySigma.

    pip install -e ".[bench]"
    python benchmarks/bench_convert.py path/to/sigma/rules

Runs, side by side in one run (passes interleaved, wall time the median of ``--repeat``,
start-up included, CPU time (user + system, child processes included) of the same run, peak
memory the largest process's maximum resident set size):

1. ``sigma convert -t lucene --without-pipeline -s RULES`` (sigma-cli: the Lucene backend of
   pySigma-backend-elasticsearch, no pipeline, skipping rules it cannot convert);
2. ``taintsigma convert -t lucene RULES`` (the same backend, plus our ECS pipeline and
   faithfulness guards: more work per rule, not less);
3. sigma-cli once per target that ``taintsigma convert -t all`` converts to (the targets'
   pySigma backend ids: lucene, eql, esql, kusto, splunk, and kibana-kql through our plugin),
   summed;
4. ``taintsigma convert -t all -j 1 RULES`` (one target at a time, so one core);
5. ``taintsigma convert -t all RULES`` (targets in parallel, one process per core).

Each row checks its result, so that a command failing early cannot look fast: sigma-cli must
write a query for at least half the rules (per target); taintsigma must account for every rule
per target, with a query or a one-line refusal naming the rule and the target (its targets map
Linux logsources only, so on SigmaHQ's whole ``rules/`` they refuse the Windows, cloud and
other rules: the table's result column says how many). Prints a Markdown table for
benchmarks/RESULTS.md with the machine, the date and the load average.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench_scan import run_with_cpu
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
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    result: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)


def count_queries(stdout: str, *, all_targets: bool) -> int:
    """Queries in a convert run's stdout: ``# target: stem`` headers, or non-empty lines."""
    lines = stdout.splitlines()
    if all_targets:
        return sum(1 for line in lines if line.startswith("# "))
    return sum(1 for line in lines if line.strip())


_HEADER = re.compile(r"^# (\S+): ", re.MULTILINE)
# "cannot convert for target 'x': …" or "target 'x' cannot express field …": the first target named.
_REFUSED = re.compile(r"^taintsigma: error: .*?\btarget '([^']+)'", re.MULTILINE)


def taintsigma_result(stdout: str, stderr: str, target: str | None) -> tuple[Counter, Counter]:
    """Queries and refusals per target of a taintsigma run (``target`` None for ``-t all``)."""
    if target is None:
        queries = Counter(_HEADER.findall(stdout))
    else:
        blocks = [b for b in stdout.split("\n\n") if b.strip()]  # one per rule
        queries = Counter({target: len(blocks)})
    return queries, Counter(_REFUSED.findall(stderr))


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
        commands["taintsigma, -t all -j 1 (one run, one target at a time)"] = [
            [taintsigma, "convert", "-t", "all", "-j", "1", rules]
        ]
        commands["taintsigma, -t all (one run, a process per core)"] = [
            [taintsigma, "convert", "-t", "all", rules]
        ]
    rows = {name: Row(name) for name in commands}
    aborted: dict[str, str] = {}  # sigma-cli command -> its error: left out of every sum
    load = os.getloadavg()
    for _ in range(args.repeat):  # interleaved: load slows every command alike
        for name, runs in commands.items():
            wall, cpu, results = 0.0, 0.0, []
            for command in runs:
                if " ".join(command) in aborted:
                    continue
                seconds, peak, stdout, stderr, used = run_with_cpu(command, ok=(0, 1, 2))
                if command[0] == sigma:
                    queries = count_queries(stdout, all_targets=False)
                    if queries == 0:
                        # sigma-cli stops at the first rule raising NotImplementedError (which
                        # pySigma's collect_errors does not catch): no output for this target.
                        aborted[" ".join(command)] = stderr.strip().splitlines()[-1][:200]
                        continue
                    if queries < 0.5 * rule_count:
                        raise SystemExit(f"{' '.join(command)}: only {queries} queries")
                    results.append(f"{queries:,} queries")
                else:
                    target = None if "all" in command else command[command.index("-t") + 1]
                    queries, refused = taintsigma_result(stdout, stderr, target)
                    expected = SIGMA_CLI_TARGETS if target is None else [target]
                    for each in expected:  # every rule is a query or a refusal, per target
                        if queries[each] == 0 or queries[each] + refused[each] < rule_count:
                            raise SystemExit(
                                f"{' '.join(command)}: {each}: {queries[each]} queries and "
                                f"{refused[each]} refusals for {rule_count} rules"
                            )
                    results.append(
                        f"{sum(queries.values()):,} queries, {sum(refused.values()):,} refused"
                    )
                wall += seconds
                cpu += used
                rows[name].peak_mb = max(rows[name].peak_mb, peak)
            rows[name].walls.append(wall)
            rows[name].cpus.append(cpu)
            rows[name].result = _sum_results(results)
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
    print("| command | wall time | × sigma-cli | CPU time | × sigma-cli | peak memory | result |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    peers = {"lucene": rows["sigma-cli, lucene"]}
    if not args.skip_all:
        peers["all"] = next(r for n, r in rows.items() if "once per target" in n)
    for name, row in rows.items():
        peer = peers["all" if "all" in name or "per target" in name else "lucene"]
        print(
            f"| {row.name} | {row.wall:.2f} s | {row.wall / peer.wall:.2f} | {row.cpu:.2f} s "
            f"| {row.cpu / peer.cpu:.2f} | {row.peak_mb:.0f} MiB | {row.result} |"
        )
    for command, message in aborted.items():
        print(f"\nsigma-cli aborted, left out of the sum: `{command}`: {message}")
    return 0


def _sum_results(results: list[str]) -> str:
    """``12,730 queries`` from the per-command ``N queries`` (sigma-cli's runs are summed)."""
    if len(results) == 1:
        return results[0]
    return f"{sum(int(r.split()[0].replace(',', '')) for r in results):,} queries"


if __name__ == "__main__":
    sys.exit(main())
