"""``taintsigma export``: print or write rule packages (query + metadata) in one format."""

from __future__ import annotations

from pathlib import Path

import click

from taintsigma.cli.common import option_and_output_options, report_failures, write_output
from taintsigma.cli.output import handle_errors, note, warn
from taintsigma.errors import ErrorPolicy, TaintSigmaError
from taintsigma.export.formats import FORMAT_DESCRIPTIONS, load_format
from taintsigma.export.run import export_rules
from taintsigma.rules.loader import load_rules


@click.command()
@click.argument("rules", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-f",
    "--format",
    "format_id",
    required=True,
    help="Export format: " + ", ".join(FORMAT_DESCRIPTIONS) + ".",
)
@click.option(
    "--new-ids",
    is_flag=True,
    help="Export under new stable ids derived from each rule's id (uuid5), to import beside "
    "rules that already hold the original ids (Elastic's prebuilt rules).",
)
@option_and_output_options
@handle_errors
def export(
    rules: tuple[Path, ...],
    format_id: str,
    new_ids: bool,
    options: tuple[str, ...],
    output: Path | None,
) -> int:
    """Export RULES (files or folders; default: the bundled rules) as rule packages.

    Packages go to stdout in rule-file order; with -o DIR each rule becomes
    DIR/<rule file stem>.<ext> (.ndjson, .toml, .conf, .yaml).
    """
    fmt = load_format(format_id)  # fail early on an unknown format, before any output
    loaded = load_rules(rules or None, on_error=ErrorPolicy.COLLECT)
    for line in loaded.notes:
        note(line)
    report = export_rules(
        loaded, fmt.id, options=options, on_error=ErrorPolicy.COLLECT, new_ids=new_ids
    )
    failures: list[TaintSigmaError] = list(loaded.errors) + report.errors
    for package in report.packages:
        for message in package.warnings:
            warn(message)
        if output is not None:
            write_output(output / package.filename, package.text)
    if output is None and report.packages:
        click.echo(report.text())
    return report_failures(failures)
