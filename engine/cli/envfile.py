"""``engine --env-file FILE``: settings from a ``.env`` file, for the commands that follow.

The file is read with python-dotenv (``NAME=value`` lines, quotes, ``export``,
comments, ``${NAME}`` expansion) into the process environment, so specs reach
its values the usual way, as ``${env:NAME}`` references, and every value a spec
reveals is masked in output like any other secret. A variable already set in
the real environment keeps its value: the file fills gaps, it never overrides.
"""

from __future__ import annotations

from pathlib import Path

import click


def load_env_file(path: Path) -> None:
    """Add the file's variables that are not set yet to the environment.

    Raises:
        click.BadParameter: the file cannot be read.
    """
    from dotenv import load_dotenv

    try:
        load_dotenv(path, override=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--env-file") from None
