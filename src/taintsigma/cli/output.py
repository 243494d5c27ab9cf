"""What every command shares: exit codes, the one-line error and warning, the error wrapper."""

from __future__ import annotations

import os
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
# A closed pipe on stdout: the shells' 128 + SIGPIPE, what a command killed by it returns.
EXIT_BROKEN_PIPE = 141


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
            error(describe(err))
            sys.exit(EXIT_USAGE)
        except KeyboardInterrupt:
            error("interrupted")
            sys.exit(130)
        except BrokenPipeError:
            # The reader went away (`taintsigma targets | head`): stop quietly, as a command
            # killed by SIGPIPE does, and keep Python from complaining when it flushes stdout.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_BROKEN_PIPE)
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
    error(describe(err))


def describe(err: BaseException) -> str:
    """The one line the CLI shows for an error: hints in command-line syntax."""
    return err.cli_message() if isinstance(err, TaintSigmaError) else str(err)


def note(message: str) -> None:
    """Print one note line on stderr: something skipped on purpose, not an error."""
    click.echo(f"taintsigma: note: {' '.join(message.split())}", err=True)


def warn(message: str) -> None:
    """Print one warning line on stderr."""
    click.echo(f"taintsigma: warning: {' '.join(message.split())}", err=True)
