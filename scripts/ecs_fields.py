"""Write backends/_common/ecs_fields.json from the official ECS definitions (npm @elastic/ecs).

A development-time script: taintsigma reads the committed JSON and never needs Node or npm.
Install the package first (`.ci/run` does it), then run from the repository root:

    (cd tests/engines/ecs && npm ci) && python scripts/ecs_fields.py

The file maps every ECS field (multi-fields such as process.command_line.text included) to
its Elasticsearch type; tests/test_ecs_fields.py checks it against the installed package.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tests" / "engines" / "ecs" / "node_modules" / "@elastic" / "ecs"
OUTPUT = ROOT / "backends" / "_common" / "ecs_fields.json"

_DUMP = """
const ecs = require(process.argv[1]);
const types = {};
for (const [name, field] of Object.entries(ecs.EcsFlat)) {
  types[name] = field.type;
  for (const multi of field.multi_fields || []) types[multi.flat_name] = multi.type;
}
process.stdout.write(JSON.stringify({version: ecs.EcsVersion, types}));
"""


def ecs_field_types(package: Path = PACKAGE) -> dict:
    """``{"version": …, "types": {field: type}}`` read from the installed npm package."""
    entry = package / "build" / "commonjs" / "index.js"
    out = subprocess.run(
        ["node", "-e", _DUMP, str(entry)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def render(data: dict) -> str:
    """The committed file's text: sorted, one field per line (readable diffs)."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(data["types"].items())]
    return (
        "{\n"
        f'"source": "npm @elastic/ecs {data["version"]} (EcsFlat): scripts/ecs_fields.py",\n'
        f'"version": {json.dumps(data["version"])},\n'
        '"types": {\n' + ",\n".join(lines) + "\n}\n}\n"
    )


def main() -> int:
    if not PACKAGE.is_dir():
        print(f"missing {PACKAGE}: run npm ci in tests/engines/ecs first", file=sys.stderr)
        return 2
    OUTPUT.write_text(render(ecs_field_types()), encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
