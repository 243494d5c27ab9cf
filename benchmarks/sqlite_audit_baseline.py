"""Zircolite's method on an audit log: events into SQLite, every rule as one SQL query.

    python benchmarks/sqlite_audit_baseline.py AUDIT_LOG RULES…

Zircolite (github.com/wagga40/Zircolite) flattens each event into a row of an in-memory SQLite
table whose columns are every field seen (``TEXT COLLATE NOCASE``), registers a Python
``regexp`` function, converts each Sigma rule with pySigma's SQLite backend
(pysigma-backend-sqlite) and runs the queries one by one. This does the same on the same
events taintsigma scans: each audit record parsed by taintsigma's own parser
(taintsigma.logs.auditd.parse_record) plus the process_creation events its AuditAssembler
builds; one table per log source (``auditd`` for the records, ``process_creation``), each
rule queried on the table of its log source (a ``product: linux`` rule on the records), as
the native scan routes them. Rules the backend cannot convert (keyword searches) are counted.
Prints one JSON object: timings per phase, rules run, conversion and query errors, alerts.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import time
from pathlib import Path

from sigma.backends.sqlite import sqliteBackend

from taintsigma import load_rules
from taintsigma.logs.auditd import AuditAssembler, parse_record


def _regexp(pattern: str, value: object) -> bool:
    if value is None:
        return False
    return re.search(pattern, str(value)) is not None


def load_events(path: Path) -> dict[str, list[dict[str, object]]]:
    tables: dict[str, list[dict[str, object]]] = {"auditd": [], "process_creation": []}
    assembler = AuditAssembler()
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = parse_record(line.rstrip("\n"))
            if isinstance(fields, str):
                continue
            if isinstance(fields, tuple):
                fields = fields[0]
            tables["auditd"].append(fields)
            for event in assembler.add(fields, None):
                tables["process_creation"].append(dict(event.fields))
    for event in assembler.flush():
        tables["process_creation"].append(dict(event.fields))
    return tables


def fold(row: dict[str, object]) -> dict[str, object]:
    """SQLite's column names ignore case: ``syscall`` (the number) and ``SYSCALL`` (the name,
    which the rules compare) share one column, which holds the upper-case field's value."""
    folded: dict[str, object] = {}
    for key, value in row.items():
        lowered = key.lower()
        if lowered not in folded or key.isupper():
            folded[lowered] = value
    return folded


def build(connection: sqlite3.Connection, name: str, rows: list[dict[str, object]]) -> None:
    columns: dict[str, None] = {}
    for index, row in enumerate(rows):
        rows[index] = row = fold(row)
        columns.update(dict.fromkeys(row))
    names = list(columns)
    quoted = ", ".join(f'"{c}" TEXT COLLATE NOCASE' for c in names)
    connection.execute(f'CREATE TABLE "{name}" ({quoted})')
    marks = ", ".join("?" for _ in names)
    connection.executemany(
        f'INSERT INTO "{name}" VALUES ({marks})',
        (
            tuple(
                None if (v := row.get(c)) is None else (v if isinstance(v, str) else str(v))
                for c in names
            )
            for row in rows
        ),
    )


def table_of(rule: object) -> str | None:
    source = rule.logsource  # type: ignore[attr-defined]
    if source.category is not None:
        return source.category if source.category == "process_creation" else None
    service = (source.service or "").lower()
    return "auditd" if service in ("", "auditd") else None


def main() -> int:
    corpus, *rule_paths = sys.argv[1:]
    started = time.perf_counter()
    rules = load_rules(rule_paths)
    loaded = time.perf_counter()
    tables = load_events(Path(corpus))
    parsed = time.perf_counter()
    connection = sqlite3.connect(":memory:")
    connection.create_function("regexp", 2, _regexp, deterministic=True)
    for name, rows in tables.items():
        build(connection, name, rows)
    records = len(tables["auditd"])
    derived = len(tables["process_creation"])
    tables.clear()
    inserted = time.perf_counter()
    alerts: dict[str, int] = {}
    not_converted = query_errors = other_sources = 0
    for rule in rules.collection.rules:
        table = table_of(rule)
        if table is None:
            other_sources += 1
            continue
        try:
            queries = sqliteBackend(table=table).convert_rule(rule)
        except Exception:  # noqa: BLE001 - the backend's refusals, counted as Zircolite does
            not_converted += 1
            continue
        count = 0
        for query in queries:
            try:
                count += len(connection.execute(query).fetchall())
            except sqlite3.Error:
                query_errors += 1
        if count:
            alerts[str(rule.id)] = count
    done = time.perf_counter()
    print(json.dumps({
        "records": records,
        "process_creation_events": derived,
        "rules": len(rules.collection.rules),
        "rules_for_other_sources": other_sources,
        "not_converted": not_converted,
        "query_errors": query_errors,
        "alerts": sum(alerts.values()),
        "alerts_per_rule": alerts,
        "seconds": {
            "load_rules": round(loaded - started, 3),
            "parse": round(parsed - loaded, 3),
            "insert": round(inserted - parsed, 3),
            "queries": round(done - inserted, 3),
        },
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
