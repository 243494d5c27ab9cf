"""Regenerate the export golden files: every bundled rule × every export format.

Run from the repository root, on purpose only, and review the diff like code::

    python tests/regen_export_golden.py

For each export format F and bundled rule file stem S (``sigma_rules/``) it writes exactly one
of ``tests/golden/export/F/S.<ext>`` (byte for byte what ``taintsigma export -f F -o DIR``
writes) or ``tests/golden/export/F/S.error`` (``<ErrorClass>: <message>``), plus
``S.warnings`` (one warning per line) when exporting warned.

It also rewrites ``tests/golden/sentinel/`` (the conversion goldens of the ``sentinel`` target,
in the layout of ``tests/regen_golden.py``, which covers the five targets of PRODUCT.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

from regen_golden import golden_outputs

from taintsigma.errors import ErrorPolicy
from taintsigma.export import export_rules, format_ids
from taintsigma.rules import load_rules

REPO = Path(__file__).resolve().parent.parent
EXPORT_GOLDEN = REPO / "tests" / "golden" / "export"
BUNDLED = REPO / "sigma_rules"
SENTINEL_GOLDEN = REPO / "tests" / "golden" / "sentinel"


def export_golden_outputs(format_id: str) -> dict[str, str]:
    """``{file name: content}`` of every golden file of one export format."""
    report = export_rules(load_rules([BUNDLED]), format_id, on_error=ErrorPolicy.COLLECT)
    files: dict[str, str] = {}
    for package in report.packages:
        files[package.filename] = package.text + "\n"
        if package.warnings:
            files[f"{package.stem}.warnings"] = "".join(w + "\n" for w in package.warnings)
    for error in report.errors:
        stem = Path(error.path).stem if error.path is not None else str(error.rule_id)
        files[f"{stem}.error"] = f"{type(error).__name__}: {error.message}\n"
    return files


def regenerate() -> list[Path]:
    """Rewrite every export format's golden folder and the sentinel target's; return the files."""
    written: list[Path] = []
    for format_id in format_ids():
        written += _rewrite(EXPORT_GOLDEN / format_id, export_golden_outputs(format_id))
    written += _rewrite(SENTINEL_GOLDEN, golden_outputs("sentinel"))
    return written


def _rewrite(folder: Path, files: dict[str, str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    written = []
    for name, content in sorted(files.items()):
        path = folder / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    files = regenerate()
    print(f"wrote {len(files)} golden files", file=sys.stderr)
