"""Fluent CLI profiles: ``~/.fluentcommerce/<profile>/`` (or ``$FLUENT_PROFILE_DIR``).

``profile.json`` holds ``baseUrl``, ``id`` (the OAuth client id), ``clientSecret``
and ``user`` (the default user file); ``user.<name>.json`` holds ``username``
and ``password``; ``retailer.<REF>.json`` holds the retailer ``id`` and an
optional ``user`` override.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.secrets import redactor


def profile_dir(explicit: str | None = None) -> Path:
    """Where profiles live: ``explicit``, else ``$FLUENT_PROFILE_DIR``, else ``~/.fluentcommerce``."""
    if explicit:
        return Path(os.path.expanduser(explicit))
    env = os.environ.get("FLUENT_PROFILE_DIR")
    return Path(os.path.expanduser(env)) if env else Path.home() / ".fluentcommerce"


def _read(path: Path, required: tuple[str, ...]) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Fluent profile file {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Fluent profile file {path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"Fluent profile file {path} is not a JSON object")
    missing = [k for k in required if not data.get(k)]
    if missing:
        raise ConfigError(f"Fluent profile file {path} lacks {', '.join(missing)}")
    return data


def load_profile(name: str, *, retailer: str | None = None, directory: str | None = None) -> dict[str, Any]:
    """Connection settings from a profile: base_url, client_id, client_secret, username, password, retailer_id."""
    base = profile_dir(directory) / name
    if not base.is_dir():
        known = sorted(
            p.parent.name
            for p in profile_dir(directory).glob("*/profile.json")
            if not p.parent.name.startswith(".")
        )
        raise ConfigError(
            f"Fluent profile '{name}' not found in {base.parent}",
            hint=f"profiles there: {', '.join(known) or 'none'}",
        )
    profile = _read(base / "profile.json", ("baseUrl", "id", "clientSecret", "user"))
    user_name = profile["user"]
    out: dict[str, Any] = {
        "base_url": profile["baseUrl"],
        "client_id": profile["id"],
        "client_secret": profile["clientSecret"],
    }
    if retailer:
        ret = _read(base / f"retailer.{retailer}.json", ("id",))
        out["retailer_id"] = str(ret["id"])
        user_name = ret.get("user") or user_name
    user = _read(base / f"user.{user_name}.json", ("username", "password"))
    out["username"] = user["username"]
    out["password"] = user["password"]
    redactor.add(str(out["client_secret"]))
    redactor.add(str(out["password"]))
    return out
