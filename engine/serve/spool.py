"""Accepted payloads on disk until their run settles them.

``response: async`` answers 202 before the run, so the body must survive
what can happen next: the process restarting, the target being down, the
lock being held by another run. Each accepted body is written (and synced)
to ``<state dir>/payloads/<connector>/`` before the 202 goes out, removed
when its run succeeds, and moved to ``failed/`` when its run gives up. A
restarted server runs what is still pending; a failed one is kept for a
person to look at and send again with ``engine run SPEC --payload FILE``.

Files: ``<id>.<ext>`` holds the exact bytes, ``<id>.meta.json`` the safe
headers and when it arrived (written first; the body's rename commits).

With a state store that several ``engine serve`` instances share, bodies are
kept in that store instead (:class:`StoreSpool`), so any instance can run
a body another one accepted.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.contracts import Payload, StateStore

_META = ".meta.json"


class Spool:
    """One connector's directory of accepted payloads (see the module docstring for the layout)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.failed_dir = root / "failed"

    def _body(self, payload: Payload, base: Path | None = None) -> Path:
        return (base or self.root) / f"{payload.id}.{payload.ext}"

    def put(self, payload: Payload) -> Path:
        """Write the metadata, then the body (synced, renamed into place); returns the body's path.

        Once this returns the payload survives a crash, so the 202 may be sent.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        meta = {
            "id": payload.id,
            "ext": payload.ext,
            "headers": payload.headers,
            "received": payload.received.isoformat(),
            "name": payload.name,
        }
        (self.root / f"{payload.id}{_META}").write_text(
            json.dumps(meta, ensure_ascii=False), encoding="utf-8"
        )
        final = self._body(payload)
        tmp = final.with_name(final.name + ".part")
        with open(tmp, "wb") as out:
            out.write(payload.body)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(final)
        return final

    def done(self, payload: Payload) -> None:
        """Forget a payload whose run succeeded (body and metadata); harmless if already gone."""
        self._body(payload).unlink(missing_ok=True)
        (self.root / f"{payload.id}{_META}").unlink(missing_ok=True)

    def fail(self, payload: Payload, reason: dict[str, Any]) -> Path:
        """Keep the body in ``failed/`` with why its run gave up."""
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        target = self._body(payload, self.failed_dir)
        meta_path = self.root / f"{payload.id}{_META}"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {"id": payload.id, "ext": payload.ext}
        meta["failure"] = reason
        (self.failed_dir / f"{payload.id}{_META}").write_text(
            json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8"
        )
        try:
            self._body(payload).replace(target)
        except FileNotFoundError:
            target.write_bytes(payload.body)
        meta_path.unlink(missing_ok=True)
        return target

    def pending(self) -> list[Payload]:
        """Bodies accepted but not settled (a previous process stopped first), oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for meta_path in sorted(self.root.glob(f"*{_META}")):
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                body = (self.root / f"{meta['id']}.{meta['ext']}").read_bytes()
            except FileNotFoundError:
                meta_path.unlink(missing_ok=True)  # a body never committed: its sender got no 202
                continue
            except (OSError, ValueError, KeyError):
                continue
            found.append(
                Payload(
                    body,
                    id=meta["id"],
                    ext=meta["ext"],
                    headers=meta.get("headers") or {},
                    received=datetime.fromisoformat(meta["received"]),
                    name=meta.get("name"),
                )
            )
        return found

    def counts(self) -> dict[str, int]:
        """How many payloads are ``pending`` and ``failed``, for ``/health``."""

        def count(d: Path) -> int:
            return sum(1 for _ in d.glob(f"*{_META}")) if d.is_dir() else 0

        return {"pending": count(self.root), "failed": count(self.failed_dir)}


class StoreSpool:
    """Accepted payloads kept in a state store every ``engine serve`` instance shares.

    A body accepted by any instance is committed to the store before the 202,
    held by the instance that runs it (``hold`` renews that, ``release`` gives
    it back for a later attempt by any instance) and removed once settled. An
    instance that dies holding a body loses it to the others when its hold
    lapses (at once when its process is gone from the same host). A body that
    gives up is also copied to ``failed/`` on the instance that gave it up,
    where ``engine run SPEC --payload FILE`` can send it again.
    """

    def __init__(self, store: StateStore, connector: str, owner: str, ttl: float, root: Path) -> None:
        self.store = store
        self.connector = connector
        self.owner = owner
        self.ttl = ttl
        self.root = root
        self.failed_dir = root / "failed"

    def put(self, payload: Payload) -> None:
        """Commit the body and its metadata; once this returns the payload survives this instance."""
        meta = {
            "ext": payload.ext,
            "headers": payload.headers,
            "received": payload.received.isoformat(),
            "name": payload.name,
        }
        self.store.spool_put(self.connector, payload.id, meta, payload.body)

    def take(self) -> tuple[Payload, int] | None:
        """The next body to run here and how many attempts it has had, or None when none is due."""
        found = self.store.spool_take(self.connector, self.owner, self.ttl)
        if found is None:
            return None
        meta = found["meta"]
        payload = Payload(
            found["body"],
            id=found["id"],
            ext=meta.get("ext") or "bin",
            headers=meta.get("headers") or {},
            received=datetime.fromisoformat(meta["received"]),
            name=meta.get("name"),
        )
        return payload, int(found["attempts"])

    def hold(self, payload: Payload) -> bool:
        """Keep holding a body while its run goes on; False when another instance took it over."""
        return self.store.spool_hold(self.connector, payload.id, self.owner, self.ttl)

    def release(self, payload: Payload, delay: float, *, attempt: bool) -> None:
        """Give a body back for another attempt ``delay`` seconds from now, by whichever instance is free."""
        self.store.spool_release(self.connector, payload.id, self.owner, delay, attempt=attempt)

    def done(self, payload: Payload) -> None:
        """Forget a body whose run succeeded."""
        self.store.spool_settle(self.connector, payload.id)

    def fail(self, payload: Payload, reason: dict[str, Any]) -> Path:
        """Keep the body as failed in the store, and a copy in ``failed/`` here for a person."""
        self.store.spool_settle(self.connector, payload.id, reason)
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        target = self.failed_dir / f"{payload.id}.{payload.ext}"
        target.write_bytes(payload.body)
        (self.failed_dir / f"{payload.id}{_META}").write_text(
            json.dumps(
                {"id": payload.id, "ext": payload.ext, "failure": reason}, ensure_ascii=False, default=str
            ),
            encoding="utf-8",
        )
        return target

    def counts(self) -> dict[str, int]:
        """How many payloads are ``pending`` and ``failed`` across every instance, for ``/health``."""
        return self.store.spool_counts(self.connector)
