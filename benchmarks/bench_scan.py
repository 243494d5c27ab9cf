"""Time ``taintsigma scan`` against ``grep -F -i -c`` on the same syslog corpus, side by side.

    python benchmarks/bench_scan.py --sigmahq ../shared/corpus/sigmahq/rules/linux --big

Generates the corpus with make_corpus.py when it is missing, then runs each command
``--repeat`` times (wall time is the median, start-up included; peak memory is the child's
maximum resident set size) and prints a Markdown table for benchmarks/RESULTS.md:

1. ``grep -F -i -c`` with the flagship phrase (``LC_ALL=C.UTF-8``);
2. ``taintsigma scan`` with the flagship rule;
3. ``taintsigma scan`` with every bundled rule;
4. ``taintsigma scan`` with the bundled rules plus a SigmaHQ Linux rules folder (``--sigmahq``);
5. with ``--big``: the last two again on a file five times larger.

Each row checks its result: grep counts the lines holding the phrase (targets and the
near misses quoting it), every scan must report exactly the corpus's target lines as alerts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from machine import describe, ensure_corpus, installed_like_a_user

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PHRASE = "module verification failed: signature and/or required key missing - tainting kernel"
FLAGSHIP = REPO / "sigma_rules" / "tainted_kernel_module_load.yml"
BUNDLED = REPO / "sigma_rules"


@dataclass
class Row:
    name: str
    wall: float
    peak_mb: float
    lines: int
    result: str


def run(
    command: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0, 1)
) -> tuple[float, float, str, str]:
    """Run a command once: wall seconds, peak RSS in MiB, stdout, stderr.

    Peak memory comes from GNU time (``/usr/bin/time -f %M``) when installed: the rusage of a
    child forked from this Python process would count the parent's pages too.
    """
    wall, peak, stdout, stderr, _ = run_with_cpu(command, env, ok)
    return wall, peak, stdout, stderr


def run_with_cpu(
    command: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0, 1)
) -> tuple[float, float, str, str, float]:
    """:func:`run`, and the CPU seconds (user + system) of the command and every process it
    waited for (Linux's wait4 counts the waited-for descendants of the child)."""
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as peak_file:  # fmt: skip
        wrapped = (
            [gnu_time, "-q", "-f", "%M", "-o", peak_file.name, *command] if gnu_time else command
        )
        start = time.perf_counter()
        process = subprocess.Popen(wrapped, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        peak_kb = float(peak_file.read().strip() or 0) if gnu_time else usage.ru_maxrss
    if code not in ok:
        raise SystemExit(f"{' '.join(command)} failed ({code}): {stderr.strip()}")
    return wall, peak_kb / 1024, stdout, stderr, usage.ru_utime + usage.ru_stime


def measure(name: str, command: list[str], lines: int, repeat: int, check, env=None) -> Row:
    walls, peaks = [], []
    result = ""
    if len(command) > 1 and command[1] == "scan":
        run(command, env)  # untimed: fills the compiled-rule cache, as any earlier scan would
    for _ in range(repeat):
        wall, peak, stdout, stderr = run(command, env)
        walls.append(wall)
        peaks.append(peak)
        result = check(stdout, stderr)
    return Row(name, statistics.median(walls), max(peaks), lines, result)


FLAGSHIP_ID = "05cad2fb-200c-407f-b472-02ea8c9e5e4a"


def scan_check(expected: int):
    """The flagship rule must alert on exactly the target lines (other bundled rules, e.g. the
    out-of-tree module rule on the near misses, may alert too: their count is reported)."""

    def check(stdout: str, stderr: str) -> str:
        found = re.search(r": ([\d,]+) alerts?$", _summary(stderr))
        alerts = int(found.group(1).replace(",", "")) if found else -1
        mine = re.search(rf"^\s+([\d,]+)\s+.*\({FLAGSHIP_ID}\)$", stderr, re.MULTILINE)
        flagship = int(mine.group(1).replace(",", "")) if mine else -1
        if flagship != expected:
            raise SystemExit(f"expected {expected} flagship alerts: {stderr.strip()}")
        return f"{alerts} alerts ({flagship} flagship)"

    return check


def _summary(stderr: str) -> str:
    return next((line for line in stderr.splitlines() if line.startswith("scanned ")), "")


def grep_check(expected: int):
    def check(stdout: str, stderr: str) -> str:
        count = int(stdout.strip())
        if count != expected:
            raise SystemExit(f"grep counted {count} lines, expected {expected}")
        return f"{count} lines"

    return check


def machine() -> str:
    return f"{describe()}; grep {_grep_version()}"


def _grep_version() -> str:
    try:
        out = subprocess.run(["grep", "--version"], capture_output=True, text=True, check=True)
        return out.stdout.split()[3] if len(out.stdout.split()) > 3 else "?"
    except (OSError, subprocess.CalledProcessError):
        return "?"



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=Path(tempfile.gettempdir()) / "taintsigma-corpus.log"
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--sigmahq", type=Path, help="A SigmaHQ rules/linux folder.")
    parser.add_argument("--big", action="store_true", help="Also scan a file 5x larger.")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    taintsigma = shutil.which("taintsigma", path=str(Path(sys.executable).parent)) or "taintsigma"
    installed_like_a_user()
    counts = ensure_corpus(args.corpus, "make_corpus.py", "--lines", args.lines)
    # The phrase is in every target line and in the near misses quoting it (half of them).
    grep_lines = counts["targets"] + counts["near_misses"] // 2
    env = dict(os.environ, LC_ALL="C.UTF-8")
    scan = [taintsigma, "scan", "--json", "-o", os.devnull, "--timezone", "UTC"]
    rows = [
        measure("`grep -F -i -c` flagship phrase", ["grep", "-F", "-i", "-c", PHRASE, str(args.corpus)],
                counts["lines"], args.repeat, grep_check(grep_lines), env),
        measure("`taintsigma scan` flagship rule", [*scan, "-r", str(FLAGSHIP), str(args.corpus)],
                counts["lines"], args.repeat, scan_check(counts["targets"])),
        measure("`taintsigma scan` bundled rules", [*scan, str(args.corpus)],
                counts["lines"], args.repeat, scan_check(counts["targets"])),
    ]  # fmt: skip
    rule_count = ""
    if args.sigmahq is not None:
        rule_count = str(len(list(args.sigmahq.rglob("*.yml"))))
        both = [*scan, "-r", str(BUNDLED), "-r", str(args.sigmahq)]
        rows.append(
            measure(f"`taintsigma scan` bundled + {rule_count} SigmaHQ Linux rules",
                    [*both, str(args.corpus)], counts["lines"], args.repeat,
                    scan_check(counts["targets"]))
        )  # fmt: skip
    if args.big:
        big = args.corpus.with_name(args.corpus.stem + "-x5.log")
        if not big.exists() or big.stat().st_size != 5 * counts["bytes"]:
            with big.open("wb") as out:
                for _ in range(5):
                    with args.corpus.open("rb") as part:
                        shutil.copyfileobj(part, out, 1 << 20)
        rows.append(
            measure("`grep -F -i -c` flagship phrase, 5x file", ["grep", "-F", "-i", "-c", PHRASE, str(big)],
                    5 * counts["lines"], 1, grep_check(5 * grep_lines), env)
        )  # fmt: skip
        command = [*scan, "-r", str(BUNDLED)]
        name = "`taintsigma scan` bundled rules, 5x file"
        if args.sigmahq is not None:
            command += ["-r", str(args.sigmahq)]
            name = f"`taintsigma scan` bundled + {rule_count} SigmaHQ rules, 5x file"
        rows.append(
            measure(name, [*command, str(big)], 5 * counts["lines"], 1,
                    scan_check(5 * counts["targets"]))
        )  # fmt: skip

    # Each row against grep on the same file: the 5x rows against grep on the 5x file.
    grep_wall = {"5x" in row.name: row.wall for row in rows if row.name.startswith("`grep")}
    print(f"Machine: {machine()}  ")
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  ")
    print(
        f"Corpus: {counts['lines']:,} lines, {counts['bytes'] / 1e6:.0f} MB, "
        f"{counts['targets']} target lines, {counts['near_misses']} near misses "
        f"(`benchmarks/make_corpus.py`); wall time is the median of {args.repeat} runs, "
        "start-up included.\n"
    )
    print("| command | wall time | lines/s | × grep | peak memory | result |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        ratio = row.wall / grep_wall["5x" in row.name]
        print(
            f"| {row.name} | {row.wall:.2f} s | {row.lines / row.wall:,.0f} | {ratio:.1f} | "
            f"{row.peak_mb:.0f} MiB | {row.result} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
