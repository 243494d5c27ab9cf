"""``taintsigma test``: run each rule's sample events through the native evaluator and eql."""

from __future__ import annotations

from pathlib import Path

import click

from taintsigma.cli.output import EXIT_FINDINGS, EXIT_USAGE, describe, error, handle_errors
from taintsigma.ruletest import check_samples


@click.command()
@click.argument("rules", nargs=-1, type=click.Path(path_type=Path))
@handle_errors
def test(rules: tuple[Path, ...]) -> int:
    """Test RULES (default: the bundled rules) on their sample events.

    Each rule's ``<rule file stem>.events/positive/`` logs must match it and ``negative/`` logs
    must not, in the native evaluator and in Elastic's eql engine (on the rule's EQL query)
    where installed (its documented differences excused). Exit 0 when every verdict is right,
    1 when one is wrong or a rule has no positive sample event, 2 when a rule or a sample
    cannot be read.
    """
    report = check_samples(list(rules) or None)
    for err in report.errors:
        error(describe(err))
    for outcome in report.rules:
        if not outcome.has_samples:
            click.echo(f"FAIL        {outcome.title} ({outcome.rule_id}): {outcome.untested}")
            continue
        failed = outcome.failures or outcome.problems or outcome.untested
        status = "FAIL" if failed else "ok"
        engines = ", ".join(f"{name} {count}" for name, count in outcome.judged.items())
        click.echo(
            f"{status:<10}  {outcome.title} ({outcome.rule_id}): {outcome.positives} positive, "
            f"{outcome.negatives} negative events; judged by {engines or 'no engine'}"
        )
        for engine, reason in outcome.skipped.items():
            click.echo(f"            skipped {engine}: {reason}")
        if outcome.untested:
            click.echo(f"            {outcome.untested}")
        for engine, (count, reasons) in outcome.excused.items():
            click.echo(
                f"            {engine} differs on {count} event(s), a documented engine "
                f"difference: {'; '.join(reasons)}"
            )
        for failure in outcome.failures:
            click.echo(f"            {failure}")
        for problem in outcome.problems:
            error(problem)
    if report.errors or report.problems:
        return EXIT_USAGE
    return EXIT_FINDINGS if report.failures or report.untested else 0
