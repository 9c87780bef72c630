"""Outbound webhooks, signed the way Fluent signs them.

Body: compact JSON of a Fluent-style event. Header ``fluent-signature``: base64 of an
RSASSA-PKCS1-v1_5 / SHA-512 signature over the exact body bytes. The RSA key pair is made once
per emulator (on first use: generating it costs more than starting the server) and its public
half is served by the control API as PEM and as bare base64 (the form the SDK accepts).

Delivery faults exercise a receiver's verification: ``wrong_key``, ``tampered_body``,
``missing_signature``, ``uppercase_header`` and ``reserialised_body``. Non-2xx answers are
retried with doubling backoff; every attempt lands in the request log (direction ``out``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import TYPE_CHECKING, Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from engine.emulator.responses import dumps
from engine.emulator.store import Row

if TYPE_CHECKING:
    from engine.emulator.core import Core

DELIVERY_FAULTS = ("wrong_key", "tampered_body", "missing_signature", "uppercase_header", "reserialised_body")
TRIGGERS = ("order_status", "fulfilment_status", "event")


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Webhooks:
    """Webhook subscriptions, the signing key, and delivery of the events state changes raise."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._key: rsa.RSAPrivateKey | None = None
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self.tasks: set[asyncio.Task[Any]] = set()

    # --- keys and signatures ---------------------------------------------------------

    @property
    def key(self) -> rsa.RSAPrivateKey:
        """The signing key, generated on first use (that costs more than starting the server)."""
        if self._key is None:
            self._key = _new_key()
        return self._key

    def public_key(self) -> dict[str, str]:
        """The public half of the signing key: ``pem``, ``base64`` (DER, the SDK's form) and ``algorithm``."""
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {
            "pem": pem.decode("ascii"),
            "base64": base64.b64encode(der).decode("ascii"),
            "algorithm": "SHA512withRSA",
        }

    def sign(self, body: bytes, key: rsa.RSAPrivateKey | None = None) -> str:
        """Base64 RSASSA-PKCS1-v1_5 / SHA-512 signature of ``body``, with ``key`` or the emulator's key."""
        signature = (key or self.key).sign(body, padding.PKCS1v15(), hashes.SHA512())
        return base64.b64encode(signature).decode("ascii")

    def signed_request(self, event: dict[str, Any], fault: str | None = None) -> tuple[bytes, dict[str, str]]:
        """The exact bytes and headers one delivery sends (faults applied)."""
        if fault and fault not in DELIVERY_FAULTS:
            raise ValueError(
                f"unknown webhook fault {fault!r} (expected one of {', '.join(DELIVERY_FAULTS)})"
            )
        body = dumps(event)
        signature = self.sign(body, _new_key() if fault == "wrong_key" else None)
        headers = {"Content-Type": "application/json"}
        if fault != "missing_signature":
            headers["FLUENT-SIGNATURE" if fault == "uppercase_header" else "fluent-signature"] = signature
        if self.core.settings.webhook_flex_signature:
            flex = self.key.sign(body, padding.PKCS1v15(), hashes.MD5())
            headers["flex.signature"] = base64.b64encode(flex).decode("ascii")
        if fault == "tampered_body":
            body = dumps({**event, "entityStatus": f"{event.get('entityStatus')}-TAMPERED"})
        elif fault == "reserialised_body":
            body = json.dumps(event, indent=2).encode("utf-8")
        return body, headers

    # --- subscriptions ---------------------------------------------------------------

    def register(self, spec: dict[str, Any]) -> Row:
        """Add a subscription: ``url`` (http/https), ``triggers`` (default: all), ``fault``, ``name``.

        Raises ValueError for a bad URL or an unknown trigger or fault.
        """
        url = spec.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError("url: required, an http(s) URL")
        triggers = spec.get("triggers") or list(TRIGGERS)
        unknown = [t for t in triggers if t not in TRIGGERS]
        if unknown:
            raise ValueError(f"triggers: unknown {unknown} (expected some of {', '.join(TRIGGERS)})")
        fault = spec.get("fault")
        if fault and fault not in DELIVERY_FAULTS:
            raise ValueError(f"fault: unknown {fault!r} (expected one of {', '.join(DELIVERY_FAULTS)})")
        row = {
            "id": str(len(self.core.store.webhooks) + 1),
            "url": url,
            "triggers": list(triggers),
            "fault": fault,
            "name": spec.get("name"),
        }
        self.core.store.webhooks.append(row)
        return row

    def entity_status_changed(self, kind: str, row: Row) -> None:
        """Send ``<kind>_STATUS_CHANGED`` for an ORDER or FULFILMENT row to the matching subscriptions."""
        store = self.core.store
        root = store.orders.row(row["orderId"]) if kind == "FULFILMENT" else row
        event = self.event(
            name=f"{kind}_STATUS_CHANGED",
            retailer_id=row["retailerId"],
            entity_type=kind,
            entity=row,
            subtype=row.get("type"),
            root_type="ORDER",
            root=root,
        )
        self._fan_out("order_status" if kind == "ORDER" else "fulfilment_status", event)

    def event_handled(self, entry: Row, body: dict[str, Any]) -> None:
        """Send a handled API event, with its outcome as ``entityStatus``, to ``event`` subscriptions."""
        if not self.core.store.webhooks:
            return
        event = {
            "id": entry["id"],
            "name": body.get("name"),
            "accountId": entry["accountId"],
            "retailerId": entry["retailerId"],
            "entityId": body.get("entityId"),
            "entityRef": body.get("entityRef"),
            "entityType": body.get("entityType"),
            "entitySubtype": body.get("entitySubtype"),
            "entityStatus": entry["eventStatus"],
            "type": "NORMAL",
            "rootEntityId": body.get("rootEntityId"),
            "rootEntityRef": body.get("rootEntityRef"),
            "rootEntityType": body.get("rootEntityType"),
            "attributes": {"eventStatus": entry["eventStatus"]},
        }
        self._fan_out("event", event)

    def event(
        self,
        *,
        name: str,
        retailer_id: str,
        entity_type: str,
        entity: Row,
        subtype: Any,
        root_type: str,
        root: Row,
        attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A Fluent-style webhook event about ``entity``, under ``root``, with a fresh deterministic id."""
        return {
            "id": self.core.store.next_uuid(),
            "name": name,
            "accountId": self.core.account_id(retailer_id),
            "retailerId": retailer_id,
            "entityId": entity["id"],
            "entityRef": entity["ref"],
            "entityType": entity_type,
            "entitySubtype": subtype,
            "entityStatus": entity.get("status"),
            "type": "NORMAL",
            "rootEntityId": root["id"],
            "rootEntityRef": root["ref"],
            "rootEntityType": root_type,
            "attributes": attributes or {},
        }

    def _fan_out(self, trigger: str, event: dict[str, Any]) -> None:
        targets = [w for w in self.core.store.webhooks if trigger in w["triggers"]]
        if not targets:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for hook in targets:
            task = loop.create_task(self.deliver(hook["url"], event, hook["fault"]))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    # --- delivery --------------------------------------------------------------------

    async def deliver(self, url: str, event: dict[str, Any], fault: str | None = None) -> dict[str, Any]:
        """POST one signed event to ``url``, retrying non-2xx answers with doubling backoff.

        Each attempt goes into the request log (direction ``out``). Returns
        whether it was delivered, every attempt's status or error, and the
        exact body and headers sent. Raises ValueError for an unknown ``fault``.
        """
        settings = self.core.settings
        body, headers = self.signed_request(event, fault)
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            # A client belongs to the loop that made it: the Python API may deliver before the
            # server (and its loop) starts.
            self._client = httpx.AsyncClient(timeout=10.0)
            self._client_loop = loop
        attempts: list[dict[str, Any]] = []
        delivered = False
        for attempt in range(1 + max(0, settings.webhook_retries)):
            if attempt:
                await asyncio.sleep(settings.webhook_backoff_ms * 2 ** (attempt - 1) / 1000)
            started = time.perf_counter()
            entry = self.core.log.record(
                direction="out",
                method="POST",
                path=url,
                query="",
                headers=dict(headers),
                body=body,
                time=self.core.clock.now_iso(),
            )
            try:
                response = await self._client.post(url, content=body, headers=headers)
                status, error = response.status_code, None
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            entry["status"], entry["latency_ms"] = status, round((time.perf_counter() - started) * 1000, 3)
            if error:
                entry["error"] = error
            attempts.append({"status": status, "error": error})
            delivered = status is not None and 200 <= status < 300
            if delivered:
                break
        return {
            "url": url,
            "delivered": delivered,
            "attempts": attempts,
            "event": event,
            "body": body.decode("utf-8"),
            "headers": headers,
        }

    async def close(self) -> None:
        """Cancel deliveries still under way and close the HTTP client (at server shutdown)."""
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
