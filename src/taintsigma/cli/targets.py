"""``taintsigma targets``: list conversion targets (and export formats)."""

from __future__ import annotations

import click

from taintsigma.cli.output import handle_errors
from taintsigma.convert.mappings import field_mappings
from taintsigma.convert.targets import load_targets
from taintsigma.export.formats import FORMAT_DESCRIPTIONS


@click.command()
@handle_errors
def targets() -> int:
    """List conversion targets, the logsources they map, their options, and export formats."""
    for target in load_targets():
        click.echo(f"{target.id:<12} {target.name}  (.{target.extension})")
        logsources = ", ".join(field_mappings(target)) or "any (no field mapping)"
        click.echo(f"{'':<12}   logsources: {logsources}")
        for option in target.options.values():
            click.echo(f"{'':<12}   -O {option.name}: {option.description}")
    click.echo("")
    click.echo("export formats (taintsigma export -f FORMAT):")
    for name, description in FORMAT_DESCRIPTIONS.items():
        click.echo(f"{name:<22} {description}")
    return 0
