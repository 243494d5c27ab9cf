"""``taintsigma coverage``: an ATT&CK Navigator layer of the techniques the rules cover."""

from __future__ import annotations

import json
from pathlib import Path

import click

from taintsigma.cli.common import write_output
from taintsigma.cli.output import handle_errors
from taintsigma.rules.coverage import coverage_layer
from taintsigma.rules.loader import load_rules


@click.command()
@click.argument("rules", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write the layer to FILE (JSON)."
)
@click.option("--name", default="taintsigma rule coverage", show_default=True, help="Layer name.")
@handle_errors
def coverage(rules: tuple[Path, ...], output: Path | None, name: str) -> int:
    """Write an ATT&CK Navigator layer (format 4.5) of the techniques RULES cover.

    RULES are files or folders (default: the bundled rules). Each technique's score is the
    number of rules tagged with it. Without -o the layer goes to stdout; load it in the
    Navigator with "Open Existing Layer".
    """
    layer = coverage_layer(load_rules(rules or None), name=name)
    text = json.dumps(layer, indent=2, ensure_ascii=False)
    if output is None:
        click.echo(text)
    else:
        write_output(output, text)
        covered = len(layer["techniques"])
        click.echo(f"wrote {output}: {covered} technique(s)", err=True)
    return 0
