"""Regenerate every golden file: every rule × every conversion target and every export format.

Run from the repository root, on purpose only, and review the diff like code::

    python tests/regen_golden.py

For each target id T of ``backends/`` (the five of PRODUCT.md and ``sentinel``) and rule file
stem S (the bundled ``sigma_rules/`` and the test-only ``tests/rules/``) it writes exactly one of:

- ``tests/golden/T/S.<ext>``: the query, byte for byte what ``taintsigma convert -o`` writes;
- ``tests/golden/T/S.error``: ``<ErrorClass>: <message>`` when the target cannot convert the
  rule (``UnsupportedByTarget`` is the expected kind; anything else is a bug to fix);

plus ``tests/golden/T/S.warnings`` (one translation warning per line) when converting warned.

For each export format F and rule stem S (``sigma_rules/``, the correlations over them in
``tests/fixtures/correlations/``, and one SigmaHQ Linux rule per log source) it writes, in the
same way, ``tests/golden/export/F/S.<ext>`` (byte for byte what ``taintsigma export -f F -o DIR``
writes) or ``S.error``, plus ``S.warnings`` when exporting warned.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from taintsigma.convert.conversion import convert_rules
from taintsigma.convert.targets import target_ids
from taintsigma.errors import ErrorPolicy, TaintSigmaError
from taintsigma.export.formats import format_ids
from taintsigma.export.run import export_rules
from taintsigma.rules.loader import load_rules

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"
EXPORT_GOLDEN = GOLDEN / "export"
BUNDLED = REPO / "sigma_rules"
# The flagship rule alone, for tests about one rule's package (the other bundled rules include a
# journald-only variant that Splunk and Sentinel refuse).
FLAGSHIP_RULE = BUNDLED / "tainted_kernel_module_load.yml"
RULE_DIRS = (BUNDLED, REPO / "tests" / "rules")
# Correlation rules over the bundled rules, exported (with them) for the export goldens only.
CORRELATIONS = REPO / "tests" / "fixtures" / "correlations"
CORRELATION_STEMS = tuple(sorted(p.stem for p in CORRELATIONS.glob("*.yml")))
# One SigmaHQ Linux rule per log source (the vendored corpus), exported alone for the export
# goldens only: each pins its log source's index, integration, connectors and scoping.
LINUX_CORPUS = REPO / "tests" / "corpus" / "sigmahq" / "rules" / "linux"
LOGSOURCE_SAMPLES = tuple(
    LINUX_CORPUS / path
    for path in (
        "process_creation/proc_creation_lnx_userdel.yml",
        "file_event/file_event_lnx_doas_conf_creation.yml",
        "network_connection/net_connection_lnx_ngrok_tunnel.yml",
        "auditd/lnx_auditd_audio_capture.yml",
        "builtin/sshd/lnx_sshd_susp_ssh.yml",
    )
)
LOGSOURCE_STEMS = tuple(p.stem for p in LOGSOURCE_SAMPLES)
# The conversion targets of PRODUCT.md, whose goldens tests/test_convert.py compares rule by rule
# (sentinel's are compared by tests/test_export_sentinel_target.py). regenerate() writes the
# goldens of every target in backends/, so a new target only needs its tests.
TARGETS = ("kibana-kql", "lucene", "eql", "esql", "splunk")


def golden_outputs(target_id: str) -> dict[str, str]:
    """Return ``{file name: content}`` of every golden file of one conversion target."""
    report = convert_rules(load_rules(list(RULE_DIRS)), target_id, on_error=ErrorPolicy.COLLECT)
    files = {f"{c.stem}.{c.extension}": c.query + "\n" for c in report.conversions}
    return _with_warnings_and_errors(files, report.conversions, report.errors)


def export_golden_outputs(format_id: str) -> dict[str, str]:
    """Return ``{file name: content}`` of every golden file of one export format.

    The bundled rules, then the correlations of ``tests/fixtures/correlations/`` exported with
    the bundled rules they correlate (only the correlations' files are kept from that run),
    then the SigmaHQ Linux rules of ``LOGSOURCE_SAMPLES``, one per log source.
    """
    report = export_rules(load_rules([BUNDLED]), format_id, on_error=ErrorPolicy.COLLECT)
    files = {p.filename: p.text + "\n" for p in report.packages}
    files = _with_warnings_and_errors(files, report.packages, report.errors)
    together = export_rules(
        load_rules([BUNDLED, CORRELATIONS]), format_id, on_error=ErrorPolicy.COLLECT
    )
    packages = [p for p in together.packages if p.stem in CORRELATION_STEMS]
    errors = [
        e for e in together.errors if e.path is not None and Path(e.path).stem in CORRELATION_STEMS
    ]
    mine = {p.filename: p.text + "\n" for p in packages}
    files |= _with_warnings_and_errors(mine, packages, errors)
    samples = export_rules(
        load_rules(list(LOGSOURCE_SAMPLES)), format_id, on_error=ErrorPolicy.COLLECT
    )
    theirs = {p.filename: p.text + "\n" for p in samples.packages}
    return files | _with_warnings_and_errors(theirs, samples.packages, samples.errors)


def _with_warnings_and_errors(
    files: dict[str, str], results: Iterable, errors: Iterable[TaintSigmaError]
) -> dict[str, str]:
    for result in results:
        if result.warnings:
            files[f"{result.stem}.warnings"] = "".join(w + "\n" for w in result.warnings)
    for error in errors:
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
    """Rewrite every target's and every export format's golden folder; return the files written."""
    # Everything is computed before anything is deleted: a crash leaves the goldens as they were.
    outputs = {GOLDEN / t: golden_outputs(t) for t in target_ids()}
    outputs |= {EXPORT_GOLDEN / f: export_golden_outputs(f) for f in format_ids()}
    written: list[Path] = []
    for folder, files in outputs.items():
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
