"""A small REST API on a real socket for the ``http`` connection, source and target tests.

Orders to read (five ways of paging, filtered by update time), items to
write (one per request, by ref, or in batches with per-item results),
idempotency keys honoured like a payment API does (a repeated key gets the
stored answer and changes nothing), four kinds of credentials including an
OAuth2 token endpoint, and scripted faults: a status (with ``Retry-After``),
a write committed before a 500, a slow answer. Every request is logged.
Served by uvicorn on a thread, on a free loopback port, like the emulator.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import itertools
import json
import socket
import threading
import time
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "s3cr3t-static-token"
API_KEY = "k3y-0f-the-api"
USER, PASSWORD = "integrator", "pa55-w0rd-basic"
CLIENT_ID, CLIENT_SECRET = "engine-client", "cl13nt-s3cr3t"
#: the secret part of the chat webhook's URL, as Slack and Teams hand them out
CHAT_TOKEN = "T000-B000-ch4tw3bh00ks3cr3t"
#: the payment API's operations on an authorisation: the prefix of the reference it answers, the status
PAYMENT_OPERATIONS = {
    "captures": ("CAP", "CAPTURED"),
    "refunds": ("REF", "REFUNDED"),
    "cancels": ("CAN", "CANCELLED"),
    "amountUpdates": ("RAU", "AUTHORISED"),
}


@dataclasses.dataclass
class Fault:
    path: str
    status: int = 500
    times: int = 1
    method: str | None = None
    retry_after: str | None = None
    after_commit: bool = False
    delay: float = 0.0
    body: Any = None


class ApiServer:
    def __init__(self, orders: list[dict[str, Any]] | None = None) -> None:
        self.orders = list(orders or [])
        self.items: dict[str, dict[str, Any]] = {}
        #: products to look up, by sku (GET /products/{sku}, GET /products?sku=, POST /products/search)
        self.products: dict[str, dict[str, Any]] = {}
        #: each product answer takes this long; ``peak`` is the most product requests seen in flight at once
        self.product_delay = 0.0
        self.in_flight = 0
        self.peak = 0
        #: texts posted to the chat webhook, in arrival order
        self.chat: list[str] = []
        #: what each supplier has of a sku (GET /availability/{sku}): [{"supplier": ..., "available": n}]
        self.availability: dict[str, list[dict[str, Any]]] = {}
        #: what the payment API did (POST /payments/{ref}/{operation}), by the reference it answered
        self.payments: dict[str, dict[str, Any]] = {}
        #: return labels the label API bought (POST /labels), by their id
        self.labels: dict[str, dict[str, Any]] = {}
        self.log: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.keys: dict[str, tuple[int, Any]] = {}
        self.key_header = "idempotency-key"
        self.auth: str | None = None  # bearer | basic | api_key_header | api_key_param | oauth
        self.tokens: set[str] = set()
        self.grants = 0
        self.token_ttl = 3600
        self.refuse_tokens = False
        self.repeat_cursor = False
        self.ignore_page = False
        #: where Link headers point (another server, to see that credentials do not follow)
        self.link_base: str | None = None
        #: tokens are revoked once this many items are stored (a key rotation mid-run)
        self.revoke_at: int | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, ssl: dict[str, str] | None = None) -> ApiServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(
            self.app(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            timeout_graceful_shutdown=1,
            **(ssl or {}),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: self._server.run(sockets=[sock]), daemon=True)  # type: ignore[union-attr]
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "the test API did not start"
            time.sleep(0.005)
        self.scheme = "https" if ssl else "http"
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
            self._sock.close()
            self._server = self._thread = None

    @property
    def url(self) -> str:
        host = "localhost" if getattr(self, "scheme", "http") == "https" else "127.0.0.1"
        return f"{getattr(self, 'scheme', 'http')}://{host}:{self.port}"

    # -- test controls -------------------------------------------------------------------

    def fail(self, path: str, status: int = 500, **options: Any) -> None:
        self.faults.append(Fault(path, status, **options))

    def requests(self, path: str | None = None, method: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.log
            if (path is None or r["path"].startswith(path)) and (method is None or r["method"] == method)
        ]

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # -- the app -------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/orders", self.list_orders, methods=["GET"]),
                Route("/orders/{kind}", self.list_orders, methods=["GET", "POST"]),
                Route("/products", self.list_products, methods=["GET"]),
                Route("/products/search", self.search_products, methods=["POST"]),
                Route("/products/{sku}", self.get_product, methods=["GET"]),
                Route("/items", self.create_item, methods=["POST"]),
                Route("/purchase-orders", self.create_item, methods=["POST"]),
                Route("/items/batch", self.batch_items, methods=["POST"]),
                Route("/items/{ref}", self.put_item, methods=["PUT", "PATCH"]),
                Route("/hooks/chat/{token}", self.chat_message, methods=["POST"]),
                Route("/payments/{ref}/{operation}", self.payment_operation, methods=["POST"]),
                Route("/availability/{sku}", self.get_availability, methods=["GET"]),
                Route("/labels", self.create_label, methods=["POST"]),
            ]
        )

    async def _record(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        entry = {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "raw_path": request.scope.get("raw_path", b"").decode("ascii"),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": body,
        }
        with self._lock:
            self.log.append(entry)
        return entry

    def _authorised(self, entry: dict[str, Any]) -> bool:
        h, q = entry["headers"], entry["query"]
        if self.auth is None:
            return True
        if self.auth == "bearer":
            return h.get("authorization") == f"Bearer {TOKEN}"
        if self.auth == "basic":
            return (
                h.get("authorization") == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            )
        if self.auth == "api_key_header":
            return h.get("x-api-key") == API_KEY
        if self.auth == "api_key_param":
            return q.get("api_key") == API_KEY
        token = h.get("authorization", "").removeprefix("Bearer ")
        return not self.refuse_tokens and token in self.tokens

    def _fault(self, entry: dict[str, Any]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if (
                    entry["path"].startswith(fault.path)
                    and fault.method in (None, entry["method"])
                    and fault.times
                ):
                    fault.times -= 1
                    return fault
        return None

    async def _guard(self, request: Request) -> tuple[dict[str, Any], Response | None, Fault | None]:
        """Log, authenticate, and apply a fault that answers before any work."""
        entry = await self._record(request)
        if not self._authorised(entry):
            return entry, JSONResponse({"error": "unauthorized"}, status_code=401), None
        fault = self._fault(entry)
        if fault is not None and not fault.after_commit:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
            return (
                entry,
                JSONResponse(fault.body or {"error": "injected"}, status_code=fault.status, headers=headers),
                None,
            )
        return entry, None, fault

    async def _after(self, fault: Fault | None, answer: JSONResponse) -> Response:
        """The work is committed; an after-commit fault now loses the answer."""
        if fault is None:
            return answer
        if fault.delay:
            await asyncio.sleep(fault.delay)
        return JSONResponse({"error": "injected after commit"}, status_code=fault.status)

    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        auth = request.headers.get("authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            client_id, secret = str(form.get("client_id")), str(form.get("client_secret"))
        with self._lock:
            self.log.append(
                {
                    "method": "POST",
                    "path": "/oauth/token",
                    "query": {},
                    "body": dict(form),
                    "headers": {k.lower(): v for k, v in request.headers.items()},
                }
            )
            self.grants += 1
        if form.get("grant_type") != "client_credentials" or (client_id, secret) != (
            CLIENT_ID,
            CLIENT_SECRET,
        ):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "bad client credentials"}, status_code=401
            )
        token = f"tok-{self.grants}-{CLIENT_SECRET[:3]}"
        self.tokens.add(token)
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.token_ttl,
                "scope": form.get("scope"),
            }
        )

    # -- reading ----------------------------------------------------------------------------

    async def list_orders(self, request: Request) -> Response:
        entry, early, _ = await self._guard(request)
        if early is not None:
            return early
        q = {**entry["query"], **(entry["body"] if isinstance(entry["body"], dict) else {})}
        rows = sorted(self.orders, key=lambda o: (o["updated_at"], o["id"]))
        if q.get("updated_since"):
            rows = [o for o in rows if o["updated_at"] >= q["updated_since"]]
        if q.get("updated_before"):
            rows = [o for o in rows if o["updated_at"] < q["updated_before"]]
        if q.get("status"):
            rows = [o for o in rows if o["status"] == q["status"]]
        kind = request.path_params.get("kind", "cursor")
        size = int(q.get("per_page") or q.get("limit") or 10)
        base = f"{self.link_base or self.url}/orders/{kind}"
        if kind in ("page", "link"):
            page = 1 if self.ignore_page else int(q.get("page", 1))
            chunk = rows[(page - 1) * size : page * size]
            if kind == "page":
                return JSONResponse({"data": chunk, "page": page})
            more = page * size < len(rows)
            headers = {"Link": f'<{base}?page={page + 1}&per_page={size}>; rel="next"'} if more else {}
            return JSONResponse(chunk, headers=headers)
        if kind == "offset":
            offset = int(q.get("offset", 0))
            return JSONResponse({"items": rows[offset : offset + size], "total": len(rows)})
        start = int(str(q.get("cursor") or "c0")[1:])
        chunk = rows[start : start + size]
        after = start + len(chunk)
        following = None if after >= len(rows) else ("c1" if self.repeat_cursor else f"c{after}")
        if kind == "cursor":
            return JSONResponse({"data": chunk, "meta": {"next_cursor": following}})
        link = f"/orders/next?cursor={following}&limit={size}" if following else None
        return JSONResponse({"data": chunk, "links": {"next": link}})

    async def get_product(self, request: Request) -> Response:
        _entry, early, _ = await self._guard(request)
        if early is not None:
            return early
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.product_delay)
        finally:
            with self._lock:
                self.in_flight -= 1
        product = self.products.get(request.path_params["sku"])
        if product is None:
            return JSONResponse({"error": "no such product"}, status_code=404)
        return JSONResponse({"data": product})

    async def list_products(self, request: Request) -> Response:
        """``?sku=A&sku=B`` or ``?skus=A,B``: the products among them that exist."""
        _entry, early, _ = await self._guard(request)
        if early is not None:
            return early
        wanted = request.query_params.getlist("sku") or request.query_params.get("skus", "").split(",")
        return JSONResponse({"data": [self.products[s] for s in wanted if s in self.products]})

    async def search_products(self, request: Request) -> Response:
        """A JSON body ``{"skus": [...]}``: the products among them that exist."""
        entry, early, _ = await self._guard(request)
        if early is not None:
            return early
        body = entry["body"] if isinstance(entry["body"], dict) else {}
        wanted = body.get("skus") or []
        return JSONResponse({"data": [self.products[s] for s in wanted if s in self.products]})

    # -- writing ----------------------------------------------------------------------------

    async def _guard_write(self, request: Request) -> tuple[dict[str, Any], Response | None, Fault | None]:
        """:meth:`_guard`, then the stored answer when the request's idempotency key was seen before."""
        entry, early, fault = await self._guard(request)
        return entry, early or self._replayed(entry), fault

    def _replayed(self, entry: dict[str, Any]) -> Response | None:
        key = entry["headers"].get(self.key_header)
        if key and key in self.keys:
            status, body = self.keys[key]
            return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"})
        return None

    def _remember(self, entry: dict[str, Any], status: int, body: Any) -> JSONResponse:
        key = entry["headers"].get(self.key_header)
        if key:
            self.keys[key] = (status, body)
        return JSONResponse(body, status_code=status)

    def _store(self, item: Any) -> tuple[int, Any]:
        if not isinstance(item, dict) or not item.get("sku"):
            return 422, {"error": "sku is required", "got": item}
        if item.get("qty") is not None and not isinstance(item["qty"], int):
            return 422, {"error": f"qty must be an integer, got {item['qty']!r}"}
        item_id = next(self._ids)
        self.items[str(item_id)] = dict(item)
        if self.revoke_at is not None and len(self.items) == self.revoke_at:
            self.tokens.clear()
        return 201, {"id": item_id}

    async def create_item(self, request: Request) -> Response:
        entry, early, fault = await self._guard_write(request)
        if early is not None:
            return early
        body = entry["body"]
        item = body.get("item", body) if isinstance(body, dict) and "item" in body else body
        status, answer = self._store(item)
        return await self._after(fault, self._remember(entry, status, answer))

    async def chat_message(self, request: Request) -> Response:
        """A Slack-style incoming webhook: the secret is in the URL, the message is {"text": ...}, the answer "ok"."""
        entry, early, _fault = await self._guard(request)
        if early is not None:
            return early
        if request.path_params["token"] != CHAT_TOKEN:
            return Response("no_service", status_code=404, media_type="text/plain")
        body = entry["body"]
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
            return Response("no_text", status_code=400, media_type="text/plain")
        self.chat.append(body["text"])
        return Response("ok", status_code=200, media_type="text/plain")

    async def get_availability(self, request: Request) -> Response:
        """A dropship network's stock of one sku, per supplier; 404 when no supplier carries it."""
        _entry, early, _ = await self._guard(request)
        if early is not None:
            return early
        suppliers = self.availability.get(request.path_params["sku"])
        if suppliers is None:
            return JSONResponse({"error": "no supplier carries this sku"}, status_code=404)
        return JSONResponse({"data": {"sku": request.path_params["sku"], "suppliers": suppliers}})

    async def payment_operation(self, request: Request) -> Response:
        """A payment provider's operation on an authorisation (Adyen's paths), answered with its reference."""
        entry, early, fault = await self._guard_write(request)
        if early is not None:
            return early
        operation = request.path_params["operation"]
        if operation not in PAYMENT_OPERATIONS:  # never remembered, so never replayed
            return JSONResponse({"error": f"no operation {operation!r}"}, status_code=404)
        body = entry["body"] if isinstance(entry["body"], dict) else {}
        amount = body.get("amount")
        if not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount <= 0:
            return await self._after(
                fault, self._remember(entry, 422, {"error": f"amount must be > 0, got {amount!r}"})
            )
        prefix, status = PAYMENT_OPERATIONS[operation]
        reference = f"{prefix}-{next(self._ids):04d}"
        done = {"reference": reference, "payment": request.path_params["ref"], "status": status, **body}
        self.payments[reference] = {"operation": operation, **done}
        return await self._after(fault, self._remember(entry, 201, done))

    async def create_label(self, request: Request) -> Response:
        """A shipping-label API (ShipStation, EasyPost): a return label for a shipment, answered with its tracking."""
        entry, early, fault = await self._guard_write(request)
        if early is not None:
            return early
        body = entry["body"] if isinstance(entry["body"], dict) else {}
        missing = [k for k in ("reference", "carrier", "from", "to") if not body.get(k)]
        if missing:
            return await self._after(fault, self._remember(entry, 422, {"error": f"missing {missing}"}))
        number = next(self._ids)
        label = {
            "labelId": f"LBL-{number:04d}",
            "trackingNumber": f"{body['carrier'][:2].upper()}{number:09d}AU",
            "labelUrl": f"{self.url}/labels/LBL-{number:04d}.pdf",
            **body,
        }
        self.labels[label["labelId"]] = label
        return await self._after(fault, self._remember(entry, 201, label))

    async def put_item(self, request: Request) -> Response:
        entry, early, fault = await self._guard(request)
        if early is not None:
            return early
        ref = request.path_params["ref"]
        body = entry["body"] if isinstance(entry["body"], dict) else {}
        self.items[ref] = {**(self.items.get(ref, {}) if request.method == "PATCH" else {}), **body}
        return await self._after(fault, JSONResponse({"ref": ref}, status_code=200))

    async def batch_items(self, request: Request) -> Response:
        entry, early, fault = await self._guard_write(request)
        if early is not None:
            return early
        body = entry["body"]
        records = body.get("items") if isinstance(body, dict) else body
        if not isinstance(records, list):
            return JSONResponse({"error": "expected a list of items"}, status_code=400)
        results = []
        for record in records:
            status, answer = self._store(record)
            results.append({"status": status, **({"error": answer["error"]} if status >= 400 else answer)})
        return await self._after(fault, self._remember(entry, 200, {"results": results}))


def orders(count: int, *, start: str = "2026-03-01T10:00:00.000Z", status: str = "CANCELLED") -> list[dict]:
    """``count`` orders updated one minute apart from ``start``."""
    from datetime import datetime, timedelta

    first = datetime.fromisoformat(start.replace("Z", "+00:00"))
    out = []
    for n in range(1, count + 1):
        moment = first + timedelta(minutes=n - 1)
        out.append(
            {
                "id": n,
                "ref": f"ORD-{n:04d}",
                "status": status,
                "total": 10 * n,
                "updated_at": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
        )
    return out
