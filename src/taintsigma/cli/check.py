"""``taintsigma check``: validate rules with pySigma's validators and taintsigma's checks."""

from __future__ import annotations

from pathlib import Path

import click

from taintsigma.cli.output import EXIT_FINDINGS, EXIT_USAGE, handle_errors, note
from taintsigma.cli.output import report as report_error
from taintsigma.errors import ErrorPolicy
from taintsigma.rules.check import check_rules
from taintsigma.rules.loader import load_rules


@click.command()
@click.argument("rules", nargs=-1, type=click.Path(path_type=Path))
@handle_errors
def check(rules: tuple[Path, ...]) -> int:
    """Validate RULES (files or folders; default: the bundled rules).

    Exit 0 when every rule passes, 1 when a check fails, 2 when a rule cannot be loaded.
    """
    loaded = load_rules(rules or None, on_error=ErrorPolicy.COLLECT)
    for line in loaded.notes:
        note(line)
    report = check_rules(loaded)
    for err in report.errors:
        report_error(err)
    for issue in report.issues:
        click.echo(str(issue))
    failed = len({i.rule_id for i in report.issues})
    click.echo(
        f"checked {report.checked} rule(s): {report.checked - failed} passed, {failed} failed"
        + (f", {len(report.errors)} could not be loaded" if report.errors else ""),
        err=True,
    )
    if report.errors:
        return EXIT_USAGE
    return EXIT_FINDINGS if report.issues else 0
