"""``taintsigma convert``: print or write the query text of rules for one target or all."""

from __future__ import annotations

from pathlib import Path

import click

from taintsigma.cli.common import option_and_output_options, report_failures, write_output
from taintsigma.cli.output import handle_errors, note, warn
from taintsigma.convert.fanout import convert_each, default_jobs
from taintsigma.convert.targets import Target, load_targets
from taintsigma.errors import ErrorPolicy, TaintSigmaError, TargetNotFoundError
from taintsigma.rules.loader import load_rules


@click.command()
@click.argument("rules", nargs=-1, type=click.Path(path_type=Path))
@click.option("-t", "--target", "target_id", required=True, help="Target id, or 'all'.")
@option_and_output_options
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 64),
    help="With -t all: targets converted at once, one process each (default: one per core).",
)  # fmt: skip
@handle_errors
def convert(
    rules: tuple[Path, ...],
    target_id: str,
    options: tuple[str, ...],
    output: Path | None,
    jobs: int | None,
) -> int:
    """Convert RULES (files or folders; default: the bundled rules) into queries for a target.

    Queries go to stdout separated by a blank line, in rule-file order; with -o DIR each rule
    becomes DIR/<rule file stem>.<ext> (with -t all, DIR/<target>/<stem>.<ext>).
    """
    targets = load_targets([target_id])
    if target_id == "all":
        targets = _installed(targets)
    for name in options:  # fail early on an unknown option, before any output
        if target_id != "all":
            targets[0].option(name)
        elif not any(name in t.options for t in targets):
            raise TargetNotFoundError(f"no target has an option '{name}'")
    loaded = load_rules(rules or None, on_error=ErrorPolicy.COLLECT)
    for line in loaded.notes:
        note(line)
    failures: list[TaintSigmaError] = list(loaded.errors)
    blocks: list[str] = []
    warned: set[str] = set()  # a rule's value list may warn the same thing for each value
    if len(targets) == 1 or _debug():
        jobs = 0  # in this process: nothing to share out, or --debug's tracebacks wanted
    elif jobs is None:
        jobs = default_jobs()
    for result in convert_each(loaded, targets, options, jobs=jobs):
        failures.extend(result.errors)
        for conversion in result.queries:
            for message in conversion.warnings:
                if message not in warned:
                    warned.add(message)
                    warn(message)
            if output is not None:
                folder = output / result.target.id if target_id == "all" else output
                write_output(folder / f"{conversion.stem}.{conversion.extension}", conversion.query)
            elif target_id == "all":
                blocks.append(f"# {result.target.id}: {conversion.stem}\n{conversion.query}")
            else:
                blocks.append(conversion.query)
    if blocks:
        click.echo("\n\n".join(blocks))
    return report_failures(failures)


def _installed(targets: list[Target]) -> list[Target]:
    """Drop, with a warning, the targets whose optional backend package is not installed."""
    usable: list[Target] = []
    for target in targets:
        try:
            target.backend_class()
        except TargetNotFoundError as err:
            if target.requires is None:  # a bundled target that cannot load is a real error
                raise
            warn(f"skipping target '{target.id}': {err}")
            continue
        usable.append(target)
    return usable


def _debug() -> bool:
    return bool((click.get_current_context().find_root().obj or {}).get("debug"))
