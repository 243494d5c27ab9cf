"""Entry point of the ``taintsigma`` command: subcommands load lazily, errors become one line."""

from __future__ import annotations

import importlib
import sys
import traceback
import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from taintsigma.errors import TaintSigmaError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

# name -> "module:attribute"; modules are imported only when their command runs.
COMMANDS: dict[str, str] = {
    "convert": "taintsigma.cli.convert:convert",
    "export": "taintsigma.cli.export:export",
    "scan": "taintsigma.cli.scan:scan",
    "check": "taintsigma.cli.check:check",
    "test": "taintsigma.cli.test:test",
    "targets": "taintsigma.cli.targets:targets",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module_name, _, attr = COMMANDS[name].partition(":")
        return getattr(importlib.import_module(module_name), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.version_option(package_name="taintsigma", prog_name="taintsigma")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """taintsigma: one Sigma rule in, every SIEM out, and proof that each output fires."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def handle_errors(func: Callable[..., int | None]) -> Callable[..., None]:
    """Run a command body: TaintSigmaError → one line on stderr and exit 2; return value → exit."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        debug = bool(click.get_current_context().find_root().obj.get("debug"))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                code = func(*args, **kwargs)
        except TaintSigmaError as err:
            if debug:
                traceback.print_exc()
            error(str(err))
            sys.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            error("interrupted")
            sys.exit(130)
        except Exception as err:  # noqa: BLE001 - never a bare traceback for the user
            if debug:
                traceback.print_exc()
            error(f"internal error: {type(err).__name__}: {err} (run with --debug for details)")
            sys.exit(EXIT_USAGE)
        sys.exit(code or EXIT_OK)

    return wrapper


def error(message: str) -> None:
    """Print one error line on stderr."""
    click.echo(f"taintsigma: error: {' '.join(message.split())}", err=True)


def report(err: BaseException) -> None:
    """Print a collected error as one line; with ``--debug``, its traceback first."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and (ctx.find_root().obj or {}).get("debug"):
        traceback.print_exception(err, file=sys.stderr)
    error(str(err))


def warn(message: str) -> None:
    """Print one warning line on stderr."""
    click.echo(f"taintsigma: warning: {' '.join(message.split())}", err=True)


def main() -> None:
    """Console-script entry point."""
    cli(obj={})


if __name__ == "__main__":
    main()
