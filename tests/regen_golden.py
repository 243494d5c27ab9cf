"""Regenerate the conversion golden files: every rule × every conversion target.

Run from the repository root, on purpose only, and review the diff like code::

    python tests/regen_golden.py

For each target id T of ``TARGETS`` and rule file stem S (the bundled ``sigma_rules/`` and the test-only
``tests/rules/``) it writes exactly one of:

- ``tests/golden/T/S.<ext>``: the query, byte for byte what ``taintsigma convert -o`` writes;
- ``tests/golden/T/S.error``: ``<ErrorClass>: <message>`` when the target cannot convert the
  rule (``UnsupportedByTarget`` is the expected kind; anything else is a bug to fix);

plus ``tests/golden/T/S.warnings`` (one translation warning per line) when converting warned.
``tests/golden/export/`` belongs to the exporters and is left alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

from taintsigma.convert import convert_rules
from taintsigma.errors import ErrorPolicy
from taintsigma.rules import load_rules

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"
RULE_DIRS = (REPO / "sigma_rules", REPO / "tests" / "rules")
# The conversion targets of PRODUCT.md; a later target joins by adding its id here.
TARGETS = ("kibana-kql", "lucene", "eql", "esql", "splunk")


def golden_outputs(target_id: str) -> dict[str, str]:
    """Return ``{file name: content}`` of every golden file of one target."""
    loaded = load_rules(list(RULE_DIRS))
    report = convert_rules(loaded, target_id, on_error=ErrorPolicy.COLLECT)
    files: dict[str, str] = {}
    for conversion in report.conversions:
        files[f"{conversion.stem}.{conversion.extension}"] = conversion.query + "\n"
        if conversion.warnings:
            files[f"{conversion.stem}.warnings"] = "".join(w + "\n" for w in conversion.warnings)
    for error in report.errors:
        stem = Path(error.path).stem if error.path is not None else str(error.rule_id)
        files[f"{stem}.error"] = f"{_kind(error)}: {error.message}\n"
    return files


def _kind(error: Exception) -> str:
    # The taintsigma.errors class (a backend may raise a subclass that is also a pySigma error).
    for cls in type(error).__mro__:
        if cls.__module__ == "taintsigma.errors":
            return cls.__name__
    return type(error).__name__


def regenerate() -> list[Path]:
    """Rewrite every target's golden folder; return the files written."""
    written: list[Path] = []
    # Everything is computed before anything is deleted: a crash leaves the goldens as they were.
    outputs = {target_id: golden_outputs(target_id) for target_id in TARGETS}
    for target_id, files in outputs.items():
        folder = GOLDEN / target_id
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            if old.is_file():
                old.unlink()
        for name, content in sorted(files.items()):
            path = folder / name
            path.write_text(content, encoding="utf-8")
            written.append(path)
    return written


if __name__ == "__main__":
    files = regenerate()
    print(f"wrote {len(files)} golden files under {GOLDEN.relative_to(REPO)}/", file=sys.stderr)
