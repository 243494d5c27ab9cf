"""Every adapter against fixture logs: each line's ECS document (or unparsed reason), field by field.

The expected documents live beside each fixture as ``<file>.expected.json``. After a reviewed
change of the adapters, regenerate them with
``TAINTSIGMA_REGEN_FIXTURES=1 python -m pytest -q tests/test_adapters_fixtures.py`` and review
the diff like code.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from taintsigma.logs.event import Event
from taintsigma.scan.run import read_events

FIXTURES = Path(__file__).parent / "fixtures" / "adapters"
NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
CASES = sorted(
    (p.parent.name, p.name)
    for p in FIXTURES.glob("*/*")
    if p.is_file() and not p.name.endswith(".expected.json")
)


def _documents(folder: str, name: str, format: str) -> list[dict]:
    found = []
    for item in read_events(f"{folder}/{name}", format=format, timezone="UTC", now=NOW):
        entry: dict = {"line": item.origin.line, "offset": item.origin.offset}
        if isinstance(item, Event):
            entry["event"] = item.fields
            if item.logsource is not None:
                entry["logsource"] = item.logsource.service
                if item.logsource.category is not None:
                    entry["category"] = item.logsource.category
            if item.derived:
                entry["derived"] = True
        elif item.kept:
            entry["damaged"] = item.reason
        else:
            entry["unparsed"] = item.reason
        found.append(entry)
    return found


@pytest.mark.parametrize(("folder", "name"), CASES, ids=[f"{f}-{n}" for f, n in CASES])
@pytest.mark.parametrize("format", ["forced", "auto"])
def test_fixture_documents(
    folder: str, name: str, format: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)
    found = _documents(folder, name, folder if format == "forced" else "auto")
    expected_file = FIXTURES / folder / f"{name}.expected.json"
    if os.environ.get("TAINTSIGMA_REGEN_FIXTURES") and format == "forced":
        expected_file.write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    expected = json.loads(expected_file.read_text())
    assert [e["line"] for e in found] == [e["line"] for e in expected]
    for got, want in zip(found, expected, strict=True):
        assert got == want, f"{folder}/{name}:{want['line']}"
