"""``taintsigma convert``: print or write the query text of rules for one target or all."""

from __future__ import annotations

import gc
import traceback
from pathlib import Path

import click

from taintsigma.cli.common import option_and_output_options, report_failures, write_output
from taintsigma.cli.output import handle_errors, note, warn
from taintsigma.convert.conversion import convert_rules
from taintsigma.convert.targets import Target, load_targets
from taintsigma.errors import ErrorPolicy, TaintSigmaError, TargetNotFoundError
from taintsigma.rules.loader import load_rules


@click.command()
@click.argument("rules", nargs=-1, type=click.Path(path_type=Path))
@click.option("-t", "--target", "target_id", required=True, help="Target id, or 'all'.")
@option_and_output_options
@handle_errors
def convert(
    rules: tuple[Path, ...], target_id: str, options: tuple[str, ...], output: Path | None
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
    for number, target in enumerate(targets, start=1):
        usable = tuple(o for o in options if o in target.options)
        report = convert_rules(  # the last target may rewrite the rules: no copy needed
            loaded, target, options=usable, on_error=ErrorPolicy.COLLECT,
            consume=number == len(targets),
        )  # fmt: skip
        failures.extend(report.errors)
        for failure in report.errors:
            _drop_locals(failure)
        for conversion in report.conversions:
            for message in conversion.warnings:
                if message not in warned:
                    warned.add(message)
                    warn(message)
            if output is not None:
                folder = output / target.id if target_id == "all" else output
                write_output(folder / f"{conversion.stem}.{conversion.extension}", conversion.query)
            elif target_id == "all":
                blocks.append(f"# {target.id}: {conversion.stem}\n{conversion.query}")
            else:
                blocks.append(conversion.query)
        if number < len(targets):  # this target's working copy of the rules is cyclic
            report = conversion = None  # garbage: collected before the next target's copy
            gc.collect()
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


def _drop_locals(error: BaseException) -> None:
    """Clear the local variables of the (finished) frames an error's traceback holds.

    They include the target's working copy of every rule: kept, six targets held six copies.
    ``--debug`` still prints the traceback (files and lines need no locals).
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__
