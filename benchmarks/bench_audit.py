"""Time ``taintsigma scan`` against Zircolite's method (pySigma's SQLite backend) on one audit log.

    python benchmarks/bench_audit.py --sigmahq tests/corpus/sigmahq/rules/linux

Generates a 1,000,000-record audit.log with make_audit_corpus.py when it is missing, then
runs, side by side in one run (wall time start-up included; peak memory is the maximum
resident set size measured by GNU time):

1. ``taintsigma scan --json -o /dev/null`` with the bundled rules plus the SigmaHQ Linux
   folder given by ``--sigmahq``, byte-compiled and with a compiled-rule cache one untimed
   scan of a one-record file filled, as a user's later scans run (machine.py,
   installed_like_a_user); the median of ``--repeat`` runs (default 3);
2. sqlite_audit_baseline.py with the same rules on the same events (taintsigma's parser,
   then SQLite tables and one query per rule, as Zircolite does), once.

Both must alert on every planted event; the rules both ran are compared alert count by alert
count and the differences printed. Prints a Markdown table for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench_scan import run
from machine import describe, ensure_corpus, installed_like_a_user

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BUNDLED = REPO / "sigma_rules"
# rule id → planted count key of make_audit_corpus.py
PLANTED = {
    "34979410-e4b5-4e5d-8cfb-389fdff05c12": "chattr",  # Remove Immutable File Attribute
    "4b3cb710-5e83-4715-8c45-8b2b5b3e5751": "ld_so_preload",  # Modification of ld.so.preload
    "cb39d16b-b3b6-4a7a-8222-1cf24b686ffc": "wget",  # Data Exfiltration with Wget
    "e2072cab-8c9a-459b-b63c-40ae79e27031": "base64",  # Decode Base64 Encoded Text
}



def per_rule(stderr: str) -> dict[str, int]:
    """Alerts per rule id from the scan's summary lines ``   1,234  Title (id)``."""
    found = {}
    for line in stderr.splitlines():
        match = re.match(r"\s+([\d,]+)  .* \(([0-9a-f-]{36})\)$", line)
        if match:
            found[match.group(2)] = int(match.group(1).replace(",", ""))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=Path(tempfile.gettempdir()) / "taintsigma-audit.log"
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="taintsigma runs (median)")
    parser.add_argument("--sigmahq", type=Path, required=True, help="SigmaHQ rules/linux folder")
    args = parser.parse_args(argv)

    taintsigma = shutil.which("taintsigma", path=str(Path(sys.executable).parent)) or "taintsigma"
    counts = ensure_corpus(args.corpus, "make_audit_corpus.py", "--records", args.records)
    records = counts["records"]
    rules = ["-r", str(BUNDLED), "-r", str(args.sigmahq)]
    scan_cmd = [taintsigma, "scan", "--json", "-o", "/dev/null", "--timezone", "UTC", *rules]
    installed_like_a_user()
    one_record = Path(tempfile.mkdtemp(prefix="taintsigma-bench-")) / "audit.log"
    one_record.write_bytes(b'type=PATH msg=audit(1700000000.1:7): item=0 name="/x"\n')
    run([*scan_cmd, str(one_record)])  # untimed: fills the compiled-rule cache, as any scan would
    timed = [run([*scan_cmd, str(args.corpus)]) for _ in range(args.repeat)]
    wall = statistics.median(t[0] for t in timed)
    peak = max(t[1] for t in timed)
    stderr = timed[-1][3]
    ours = per_rule(stderr)
    summary = next((l for l in stderr.splitlines() if l.startswith("scanned ")), "")
    base_cmd = [sys.executable, str(HERE / "sqlite_audit_baseline.py"), str(args.corpus),
                str(BUNDLED), str(args.sigmahq)]  # fmt: skip
    base_wall, base_peak, stdout, base_err = run(base_cmd)
    try:
        theirs = json.loads(stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"the SQLite baseline failed: {base_err.strip()}") from None

    for rule_id, key in PLANTED.items():
        want = counts["planted"].get(key, 0)
        if ours.get(rule_id, 0) < want:
            raise SystemExit(f"taintsigma missed planted {key}: {ours.get(rule_id, 0)} < {want}")
    rule_count = len(list(args.sigmahq.rglob("*.yml"))) + len(list(BUNDLED.rglob("*.yml")))
    print(f"Machine: {describe()}  ")
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  ")
    print(f"Corpus: {records:,} records, {counts['bytes'] / 1e6:.0f} MB, "
          f"{counts['events']:,} audit events (`benchmarks/make_audit_corpus.py`); "
          f"{rule_count} rules; one run each, start-up included.\n")  # fmt: skip
    print("| command | wall time | records/s | peak memory | alerts |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| `taintsigma scan` | {wall:.2f} s | {records / wall:,.0f} | {peak:.0f} MiB | "
          f"{sum(ours.values()):,} |")  # fmt: skip
    print(f"| pySigma SQLite backend (Zircolite's method) | {base_wall:.2f} s | "
          f"{records / base_wall:,.0f} | {base_peak:.0f} MiB | {theirs['alerts']:,} |")  # fmt: skip
    print()
    print(f"taintsigma: {summary}")
    print(f"SQLite: {json.dumps({k: v for k, v in theirs.items() if k != 'alerts_per_rule'})}")
    differ = {
        rid: (ours.get(rid, 0), theirs["alerts_per_rule"].get(rid, 0))
        for rid in set(ours) | set(theirs["alerts_per_rule"])
        if ours.get(rid, 0) != theirs["alerts_per_rule"].get(rid, 0)
    }
    print(f"rules whose alert counts differ (taintsigma, SQLite): {json.dumps(differ)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
