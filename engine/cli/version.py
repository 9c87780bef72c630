"""``engine version``: what is installed, for bug reports and support."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

import click

from engine import __version__

#: optional extras and the distribution that shows each is installed
EXTRAS = {
    "s3": "boto3",
    "sftp": "paramiko",
    "parquet": "pyarrow",
    "aws": "boto3",
    "dask": "distributed",
    "otel": "opentelemetry-sdk",
}


@click.command("version")
def version_cmd() -> None:
    """Print the engine's version, Python's, and which optional extras are installed."""
    click.echo(f"engine {__version__}")
    click.echo(f"python {platform.python_version()} ({sys.executable})")
    for extra, dist in EXTRAS.items():
        try:
            found = f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            found = f"not installed (pip install 'engine[{extra}]')"
        click.echo(f"  {extra:8} {found}")
