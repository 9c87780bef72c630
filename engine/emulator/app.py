"""The ASGI application: request log, fault injection and auth around the Starlette routes.

Every API request goes through one pipeline: read and log the body, let fault rules fire
(side effects, delays, hangs, dropped connections, injected statuses), authenticate, run the
route, then apply response faults (after-commit failures, malformed bodies) and send. The route
runs against a buffered response so faults can replace or damage it after the write committed.
Control routes (``/_emulator/...``) bypass the pipeline: they are neither logged nor faulted.
"""

from __future__ import annotations

import asyncio
import re
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from engine.emulator import auth, control, graphql_api, rest
from engine.emulator.responses import dumps

if TYPE_CHECKING:
    from engine.emulator.core import Core

JOB_PATH = re.compile(r"^/api/v4\.1/job/([^/]+)")
GATEWAY_PAGE = (
    "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}"
    "</h1></center><hr><center>awselb/2.0</center></body></html>"
)

Message = dict[str, Any]


class EmulatorApp:
    """The emulator as one ASGI callable: control routes, and API routes through the pipeline."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.api = Router(routes=rest.routes(core), default=self._not_found)
        self.control = Router(routes=control.routes(core))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """ASGI entry point: lifespan events, then ``/_emulator/`` directly and the rest via the pipeline."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            if scope["path"].startswith("/_emulator/"):
                await self.control(scope, receive, send)
            else:
                await self._api(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.core.shutdown = asyncio.Event()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.core.webhooks.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _send(
            send,
            404,
            [(b"content-type", b"application/json")],
            dumps(
                {"errors": [{"code": "404", "message": f"No route for {scope['method']} {scope['path']}"}]}
            ),
        )

    # --- the pipeline -----------------------------------------------------------------

    async def _api(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        core = self.core
        started = time.perf_counter()
        body, too_large = await _read_body(receive, core.settings.max_body_bytes)
        method, path = scope["method"], scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        entry = core.log.record(
            method=method,
            path=path,
            query=scope["query_string"].decode("latin-1"),
            headers=headers,
            body=body,
            time=core.clock.now_iso(),
        )
        core.process_due()
        facts: dict[str, Any] = {}

        def lazy(name: str) -> Any:
            if name not in facts:
                if name == "grant_type":
                    facts[name] = (
                        auth.token_params(Request(scope), body).get("grant_type")
                        if path == "/oauth/token"
                        else None
                    )
                else:
                    facts.update(
                        graphql_api.request_facts(body)
                        if path == "/graphql"
                        else {"graphql_operation": None, "graphql_root_fields": []}
                    )
            return facts[name]

        fault, entry["faults"] = core.faults.evaluate(method, path, lazy)
        if fault:
            self._side_effects(fault, method, path)
            if fault.get("delay_ms"):
                await core.sleep(float(fault["delay_ms"]) / 1000)
        status: int | None = None
        out_headers: list[Any] = []
        out_body = b""
        if too_large:
            status, out_headers, out_body = _json(
                413,
                {
                    "errors": [
                        {
                            "code": "413",
                            "message": f"Request body exceeds {core.settings.max_body_bytes} bytes",
                        }
                    ]
                },
            )
        elif fault and not fault.get("after_commit") and await self._interrupt(fault, scope, send, entry):
            return
        elif fault.get("status") and not fault.get("after_commit"):
            status, out_headers, out_body = _fault_response(fault)
        else:
            try:
                scope.setdefault("state", {})
                scope["state"].update(body=body, fault=fault, principal=None)
                if path != "/oauth/token":
                    scope["state"]["principal"] = auth.principal(core, headers.get("authorization"))
                status, out_headers, out_body = await self._route(scope, body)
            except auth.AuthError as exc:
                status, out_headers, out_body = _json(exc.status, exc.body)
            if fault.get("after_commit"):
                self._expire_created_job(fault, method, path)
                if await self._interrupt(fault, scope, send, entry):
                    return
                if fault.get("status"):
                    status, out_headers, out_body = _fault_response(fault)
            else:
                self._expire_created_job(fault, method, path)
        if fault:
            out_headers, out_body = _damage(fault, out_headers, out_body)
        entry["status"], entry["response_body"] = status, out_body
        entry["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
        await _send(send, status, out_headers, out_body)

    async def _route(self, scope: dict[str, Any], body: bytes) -> tuple[int, list[Any], bytes]:
        messages: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Any) -> None:
            messages.append(message)

        await self.api(scope, receive, capture)
        start = messages[0]
        return (
            start["status"],
            list(start.get("headers", [])),
            b"".join(m.get("body", b"") for m in messages[1:]),
        )

    def _side_effects(self, fault: dict[str, Any], method: str, path: str) -> None:
        core = self.core
        if fault.get("revoke_tokens"):
            auth.revoke_all(core)
        if "expire_token_after" in fault and path != "/oauth/token":
            auth.expire_all_after(core, float(fault["expire_token_after"]))
        target = fault.get("expire_job")
        if target is not None:
            match = JOB_PATH.match(path)
            job_id = (match.group(1) if match else None) if target == "next" else str(target)
            job = core.store.jobs.get(job_id) if job_id else None
            if job is not None:
                job["_expired"] = True

    def _expire_created_job(self, fault: dict[str, Any], method: str, path: str) -> None:
        """``expire_job: next`` on a job creation expires the job just created."""
        if fault.get("expire_job") == "next" and method == "POST" and path == "/api/v4.1/job":
            job = self.core.store.jobs.get(self.core.store.jobs.next_id - 1)
            if job is not None:
                job["_expired"] = True

    async def _interrupt(
        self, fault: dict[str, Any], scope: dict[str, Any], send: Any, entry: dict[str, Any]
    ) -> bool:
        """Hang or drop the connection; True when the request got no answer."""
        if fault.get("hang"):
            entry["status"] = "hang"
            hang = fault["hang"]
            await self.core.sleep(None if hang is True else float(hang))
            await self._drop(scope, send)
            return True
        if fault.get("drop_connection"):
            entry["status"] = "dropped"
            await self._drop(scope, send)
            return True
        return False

    async def _drop(self, scope: dict[str, Any], send: Any) -> None:
        client = scope.get("client")
        transport = self.core.transports.get(tuple(client)) if client else None
        if transport is not None:
            transport.abort()
            for _ in range(3):
                await asyncio.sleep(0)
            return
        # No transport to abort (e.g. an in-process ASGI client): start a response and never
        # finish it, which makes the server close the connection mid-response.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})


async def _read_body(receive: Any, limit: int) -> tuple[bytes, bool]:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks), size > limit


def _json(status: int, payload: Any) -> tuple[int, list[Any], bytes]:
    return status, [(b"content-type", b"application/json")], dumps(payload)


def _fault_response(fault: dict[str, Any]) -> tuple[int, list[Any], bytes]:
    status = int(fault["status"])
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    extra = [
        (str(k).lower().encode("latin-1"), str(v).encode("latin-1"))
        for k, v in (fault.get("headers") or {}).items()
    ]
    if "body" in fault:
        raw = fault["body"]
        if isinstance(raw, dict | list):
            return status, [(b"content-type", b"application/json"), *extra], dumps(raw)
        kind = fault.get("content_type", "text/plain; charset=utf-8")
        return status, [(b"content-type", kind.encode("latin-1")), *extra], str(raw).encode("utf-8")
    if fault.get("html"):
        page = GATEWAY_PAGE.format(status=status, reason=reason).encode("utf-8")
        return status, [(b"content-type", b"text/html"), *extra], page
    if status == 401:
        denied = {
            "error": "invalid_token",
            "error_description": "Invalid access token: revoked by fault rule",
        }
        return status, [(b"content-type", b"application/json"), *extra], dumps(denied)
    errors = {"errors": [{"code": str(status), "message": reason}]}
    return status, [(b"content-type", b"application/json"), *extra], dumps(errors)


def _damage(fault: dict[str, Any], headers: list[Any], body: bytes) -> tuple[list[Any], bytes]:
    if fault.get("empty_body"):
        body = b""
    elif fault.get("truncated_json"):
        body = body[: max(1, len(body) // 2)]
    if fault.get("wrong_content_type"):
        headers = [(k, v) for k, v in headers if k.lower() != b"content-type"] + [
            (b"content-type", b"text/html")
        ]
    return headers, body


async def _send(send: Any, status: int, headers: list[Any], body: bytes) -> None:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
