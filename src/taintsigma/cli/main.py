"""Entry point of the ``taintsigma`` command: subcommands load lazily, errors become one line."""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute"; modules are imported only when their command runs.
COMMANDS: dict[str, str] = {
    "convert": "taintsigma.cli.convert:convert",
    "export": "taintsigma.cli.export:export",
    "scan": "taintsigma.cli.scan:scan",
    "check": "taintsigma.cli.check:check",
    "test": "taintsigma.cli.test:test",
    "coverage": "taintsigma.cli.coverage:coverage",
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


def main() -> None:
    """Console-script entry point."""
    cli(obj={})


if __name__ == "__main__":
    main()
