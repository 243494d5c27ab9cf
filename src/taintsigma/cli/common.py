"""Options and output shared by the commands that turn rules into files: convert and export."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import click

from taintsigma.cli.output import EXIT_USAGE
from taintsigma.cli.output import report as report_error
from taintsigma.errors import TaintSigmaError

F = TypeVar("F", bound=Callable[..., object])


def option_and_output_options(func: F) -> F:
    """Add ``-O/--option`` (repeatable target option) and ``-o/--output DIR`` to a command."""
    func = click.option(
        "-o", "--output", type=click.Path(path_type=Path), help="Write one file per rule into DIR."
    )(func)
    return click.option("-O", "--option", "options", multiple=True, help=OPTION_HELP)(func)


# Static (nothing is read at import time); tests/test_auditbeat_option.py keeps it in step with
# the options of backends/*/target.yml.
OPTION_HELP = (
    "Target option, repeatable (see `taintsigma targets`): elastic-agent, auditbeat (Elastic "
    "targets), sysmon (splunk), xdr (sentinel)."
)


def write_output(path: Path, text: str) -> None:
    """Write ``text`` and a newline to ``path``, creating its folder; raise TaintSigmaError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as err:
        raise TaintSigmaError(f"cannot write: {err.strerror}", path=path) from err


def report_failures(failures: Sequence[TaintSigmaError]) -> int:
    """Print each collected error as one line; return the exit code (2 if any, else 0)."""
    for failure in failures:
        report_error(failure)
    return EXIT_USAGE if failures else 0
