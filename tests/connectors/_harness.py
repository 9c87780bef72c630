"""Running a library connector end to end against the test servers, whatever its source and target.

The spec says what it needs: its Fluent connections are pointed at a test
emulator, its S3 connections at moto and its SFTP connections at the test
sshd; its sample files (``data/``) are put where its source lists them (a
bucket prefix, an SFTP folder) or handed over as request bodies (a payload
source). Only addresses and keys are overridden, plus waits that exist for
slow uploads (``min_age``, ``size_stable_for``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools
import shutil
from pathlib import Path
from typing import Any

import yaml

from engine.emulator import Emulator

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"


@dataclasses.dataclass
class Servers:
    """The servers a run talks to; S3, SFTP and SMTP only when the spec needs them."""

    emulator: Emulator
    s3: Any = None
    sftp: Any = None
    smtp: Any = None


def copy(folder: str, tmp_path: Path) -> Path:
    """The connector's folder copied under ``tmp_path``; its spec's path."""
    dest = tmp_path / Path(folder).name
    shutil.copytree(CONNECTORS / folder, dest)
    return dest / f"{dest.name}.yaml"


def needs(spec: Path) -> set[str]:
    """The kinds of test server the spec's connections need (``s3``, ``sftp``, ``smtp``)."""
    doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
    return {c["type"] for c in (doc.get("connections") or {}).values()} & {"s3", "sftp", "smtp"}


def _connections(doc: dict, servers: Servers) -> list[str]:
    from tests.servers.s3 import KEY_ID, SECRET

    out: list[str] = []
    for name, conn in (doc.get("connections") or {}).items():
        at = f"connections.{name}"
        if conn["type"] == "fluent":
            c = servers.emulator.credentials
            out += [f"{at}.base_url={servers.emulator.url}"]
            out += [f"{at}.{k}={c[k]}" for k in ("client_id", "client_secret", "username", "password")]
        elif conn["type"] == "s3":
            servers.s3.bucket(conn["bucket"])
            out += [f"{at}.endpoint_url={servers.s3.endpoint}", f"{at}.path_style=true"]
            out += [
                f"{at}.region=us-east-1",
                f"{at}.access_key_id={KEY_ID}",
                f"{at}.secret_access_key={SECRET}",
            ]
        elif conn["type"] == "sftp":
            sftp = servers.sftp
            out += [f"{at}.host=127.0.0.1", f"{at}.port={sftp.port}", f"{at}.username={sftp.user}"]
            out += [f"{at}.host_key={sftp.host_fingerprint}"]
            out += [
                f"{at}.password={sftp.password}" if "password" in conn else f"{at}.private_key={sftp.key}"
            ]
        elif conn["type"] == "smtp":
            smtp = servers.smtp  # STARTTLS with a login, its certificate issued for localhost
            out += [f"{at}.host=localhost", f"{at}.port={smtp.port}", f"{at}.ca_bundle={smtp.ca}"]
            out += [f"{at}.username={smtp.username}", f"{at}.password={smtp.password}"]
    return out


def samples(spec: Path, pattern: str) -> list[Path]:
    """The connector's sample files its source would list, by the source's pattern."""
    return sorted(p for p in (spec.parent / "data").glob("*") if fnmatch.fnmatch(p.name, pattern))


#: modification times of delivered SFTP files, a minute apart, in the past
_DELIVERIES = itertools.count(1_700_000_000, 60)


def _place_sources(doc: dict, spec: Path, servers: Servers) -> list[str]:
    source = doc["source"]
    out: list[str] = []
    if source["type"] == "s3":
        bucket = doc["connections"][source["connection"]]["bucket"]
        client = servers.s3.client()
        for sample in samples(spec, source.get("pattern", "*")):
            client.put_object(
                Bucket=bucket, Key=source.get("prefix", "") + sample.name, Body=sample.read_bytes()
            )
        if "min_age" in source:
            out.append("source.min_age=0s")
    elif source["type"] == "sftp":
        folder = source["path"].strip("/")
        for sample in samples(spec, source.get("pattern", "*")):
            # each delivery its own modification time: SFTP gives whole seconds, and a file
            # delivered again within the second of the first would be the same file to the ledger
            servers.sftp.write(f"{folder}/{sample.name}", sample.read_bytes(), mtime=next(_DELIVERIES))
        out.append(f"source.path=/upload/{folder}")
        if "size_stable_for" in source:
            out.append("source.size_stable_for=0.1s")
    return out


def _prepare_destination(doc: dict, servers: Servers) -> None:
    dest = (doc.get("target") or {}).get("destination") or {}
    if dest.get("type") == "sftp":
        servers.sftp.write(f"{dest['path'].strip('/')}/.keep", "")


def _with(doc: dict, extra: list[str]) -> dict:
    """The spec document with ``--set PATH=VALUE`` overrides applied (as the engine applies them)."""
    for item in extra:
        path, _, value = item.partition("=")
        *parents, last = path.split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = yaml.safe_load(value)
    return doc


def overrides(spec: Path, servers: Servers, extra: list[str] = ()) -> list[str]:
    """Set the servers up for the spec (with ``extra`` overrides) and return the ``--set`` values."""
    doc = _with(yaml.safe_load(spec.read_text(encoding="utf-8")), list(extra))
    out = _connections(doc, servers) + _place_sources(doc, spec, servers)
    _prepare_destination(doc, servers)
    if (doc.get("target") or {}).get("type") == "fluent.batch":  # a spec with routes or steps has none
        out.append("target.poll={interval: 20ms}")
    return out


def run(spec: Path, servers: Servers, extra: list[str] = (), payload: Path | None = None) -> Any:
    """One run of the spec in process (with ``payload`` as the request body for a payload source).

    ``engine check`` runs first and must pass: every connection reached, the
    source listed and the destination looked at, as a user would before a run.
    """
    from engine.contracts import Payload
    from engine.runtime.checks import check_plan
    from engine.runtime.runner import Runner, RunOptions
    from engine.spec.compile import compile_file

    plan = compile_file(spec, overrides=[*overrides(spec, servers, extra), *extra])
    failed = [c for c in check_plan(plan) if not c.ok]
    assert failed == [], "engine check fails before the run"
    if payload is not None:
        plan.source.deliver(Payload(payload.read_bytes(), ext=payload.suffix.lstrip("."), name=payload.name))
    return Runner(plan, RunOptions(progress=False)).run()
