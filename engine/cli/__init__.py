"""The ``engine`` command line.

Exit codes: 0 ok, 1 run failed, 2 spec invalid, 3 run finished but rejects
exceeded the spec's tolerance.
"""

from __future__ import annotations

import sys

import click

from engine import __version__
from engine.cli.init import init_cmd
from engine.cli.inspect import explain_cmd, plugins_cmd, schema_cmd
from engine.cli.run import run_cmd
from engine.cli.serve import serve_cmd
from engine.cli.state import state_cmd
from engine.cli.test import test_cmd
from engine.cli.validate import validate_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="engine")
def main() -> None:
    """Declarative connectors: one YAML spec moves data between files and APIs."""


for command in (run_cmd, validate_cmd, test_cmd, schema_cmd, plugins_cmd, explain_cmd, state_cmd, init_cmd):
    main.add_command(command)
main.add_command(serve_cmd)


def _optional_commands() -> None:
    """Commands whose modules may be absent in a trimmed install."""
    try:
        from engine.emulator.cli import emulator as emulator_cmd
    except ImportError:
        return
    main.add_command(emulator_cmd)


_optional_commands()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
