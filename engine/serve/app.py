"""The HTTP side of ``engine serve``: one route per webhook, ``/runs/{id}``, ``/health`` and ``/metrics``.

A webhook request is first judged on its headers: a missing or wrong API
key, or a missing or malformed signature, is refused before a byte of the
body is read, and so is a body declared larger than the limit. Only then is
the body read, as raw bytes (never parsed before it is verified: a
signature covers the exact body), limited in size and time while it
streams in and counted against the server's memory budget for bodies. It
is then verified and either queued (``answer.mode: async``: 202 at once,
the run follows) or run before answering (``sync``: 200, or ``answer.status``,
with the run's counts or the spec's answer template rendered from the run's
results; 422 when its rejects exceeded the spec's tolerance, 500 when it
failed, 503 when another process holds the spec's lock; 202 with the run id
when it outlives ``answer.timeout``). ``GET /runs/{id}`` tells a webhook
run's status and counts to whoever may call its webhook. Refusals are short
JSON errors; nothing in an answer holds a secret.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import threading
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.contracts import Payload, new_payload_id, safe_headers
from engine.jsonutil import to_jsonable
from engine.runtime.records import RecordLog
from engine.runtime.report import EXIT_REJECTS, RunReport
from engine.secrets import redactor
from engine.serve import telemetry
from engine.serve.metrics import CONTENT_TYPE
from engine.serve.specs import ServedSpec, summary

#: sync status → HTTP status
SYNC_STATUS = {
    "ok": 200,
    "rejects_exceeded": 422,
    "failed": 500,
    "locked": 503,
    "stopped": 500,
    "interrupted": 500,
}
#: a refusal made before the body was read closes the connection: the rest of the body is not drained
CLOSE = {"Connection": "close"}


class _TooLarge(Exception):
    pass


def declared_size(request: Request) -> int | None:
    """The body size the request announces in ``Content-Length`` (None when it announces none)."""
    declared = request.headers.get("content-length", "")
    return int(declared) if declared.isdigit() else None


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused as soon as it passes ``limit`` bytes (declared or streamed)."""
    declared = declared_size(request)
    if declared is not None and declared > limit:
        raise _TooLarge()
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge()
        parts.append(chunk)
    return b"".join(parts)


def _error(status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


async def _received(server: Any, request: Request, log: Any) -> bytes | Response:
    """The body of a request whose headers passed, or the refusal to answer instead.

    Read within ``body_timeout`` and the size limit; its bytes must already be
    reserved in the server's budget (see :func:`_reserved`).
    """
    limit, timeout = server.max_body, server.options.body_timeout
    try:
        return await asyncio.wait_for(read_body(request, limit), timeout)
    except _TooLarge:
        log.warning("webhook refused: body too large", limit=limit)
        return _error(413, f"body larger than {limit} bytes", headers=CLOSE)
    except TimeoutError:
        log.warning("webhook refused: body too slow", body_timeout=f"{timeout:g}s")
        return _error(408, f"body not received within {timeout:g}s", headers=CLOSE)


def _reserved(request: Request, limit: int) -> int:
    """Bytes a request's body holds in the budget: what it declares, else the limit."""
    declared = declared_size(request)
    return limit if declared is None else declared


def webhook_endpoint(server: Any, spec: ServedSpec) -> Any:
    """The Starlette endpoint for one spec's webhook: read, verify, then queue or run.

    ``server`` is the :class:`~engine.serve.server.Server` (its workers, body
    limit and stopping flag are read per request). The answers are the ones
    listed in this module's docstring; a crash in a sync run is logged and
    answered 500 without its message.
    """
    webhook = spec.webhook
    assert webhook is not None
    mode = webhook.mode
    auth_header = webhook.auth.header if webhook.auth else "x-api-key"
    log = server.log.bind(connector=spec.name, path=webhook.path)

    async def endpoint(request: Request) -> Response:
        with telemetry.span(
            "engine.webhook",
            **{"http.method": "POST", "http.route": webhook.path, "engine.connector": spec.name},
        ) as span:
            response = await answer(request)
            server.metrics.webhook_answered(spec.name, response.status_code)
            telemetry.annotate(span, **{"http.status_code": response.status_code})
            return response

    async def answer(request: Request) -> Response:
        if server.stopping:
            return _error(503, "shutting down", headers={"Retry-After": "30"})
        client = request.client.host if request.client else None
        assert spec.verifier is not None
        reason = spec.verifier.check_headers(request.headers)
        if reason is not None:
            log.warning("webhook refused", reason=reason, client=client, body="not read")
            return _error(401, "unauthorized", reason=reason, headers=CLOSE)
        declared = declared_size(request)
        if declared is not None and declared > server.max_body:
            log.warning("webhook refused: body too large", limit=server.max_body, declared=declared)
            return _error(413, f"body larger than {server.max_body} bytes", headers=CLOSE)
        reserved = _reserved(request, server.max_body)
        if not server.budget.take(reserved):
            log.warning("webhook refused: too many bodies being received", budget=server.budget.total)
            return _error(503, "busy: too many bodies being received", headers={"Retry-After": "5", **CLOSE})
        try:
            received = await _received(server, request, log)
            if isinstance(received, Response):
                return received
            return await handle(request, received, client)
        finally:
            server.budget.give(reserved)

    async def handle(request: Request, body: bytes, client: str | None) -> Response:
        assert spec.verifier is not None
        reason = spec.verifier.check(body, request.headers)
        if reason is not None:
            log.warning("webhook refused", reason=reason, client=client, bytes=len(body))
            return _error(401, "unauthorized", reason=reason)
        run_id = new_payload_id()
        payload = Payload(
            body, id=run_id, ext=spec.extension, headers=safe_headers(request.headers, also=(auth_header,))
        )
        log.info("webhook accepted", run_id=run_id, client=client, bytes=len(body), response=mode)
        if mode == "async":
            worker = server.workers[spec.name]
            # the spool syncs the body to disk before the 202: off the event loop
            job = (
                await run_in_threadpool(worker.submit, payload)
                if spec.takes_payload
                else worker.trigger(run_id)
            )
            if job is None:
                log.warning("webhook refused: queue full", run_id=run_id, queued=worker.queued)
                return _error(503, "busy: too many runs waiting", headers={"Retry-After": "30"})
            # the run starts once the answer is sent (a background task runs after the response)
            return JSONResponse(
                {"accepted": True, "run_id": run_id},
                status_code=202,
                background=BackgroundTask(job.answered.set),
            )
        return await synchronous(payload, run_id)

    async def synchronous(payload: Payload, run_id: str) -> Response:
        """Run now and answer with the outcome, or 202 once ``answer.timeout`` passed."""
        records = RecordLog() if spec.template is not None else None
        spec.runs.queued(run_id)
        run = functools.partial(
            spec.run, payload, run_id=run_id, trigger="webhook", tracked=run_id, records=records
        )
        future = in_thread(run, f"engine-sync:{spec.name}")
        timeout = webhook.answer.timeout if webhook.answer is not None else None
        waited = asyncio.wrap_future(future)
        waited.add_done_callback(_consume)  # a late run's crash shows on /runs/{id} and /health
        try:
            report = await asyncio.wait_for(asyncio.shield(waited), timeout)
        except TimeoutError:
            server.outlived(future)
            log.info("sync run outlived answer.timeout; answered 202", run_id=run_id, timeout=f"{timeout:g}s")
            return JSONResponse(
                {"accepted": True, "run_id": run_id, "status": "running"},
                status_code=202,
                headers={"Location": f"/runs/{run_id}"},
            )
        except Exception as exc:
            log.error("webhook run crashed", run_id=run_id, error=f"{type(exc).__name__}: {exc}")
            return _error(500, "internal error", run_id=run_id)
        return sync_answer(spec, report, records)

    return endpoint


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def in_thread(work: Callable[[], Any], name: str) -> concurrent.futures.Future[Any]:
    """Run ``work`` on a daemon thread of its own (a run cut off by the shutdown timeout must not hold the exit)."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    context = contextvars.copy_context()  # the request's trace span stays the run's parent

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(context.run(work))
        except BaseException as exc:  # handed to whoever awaits the future
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def sync_answer(spec: ServedSpec, report: RunReport, records: RecordLog | None) -> Response:
    """The answer to a sync webhook whose run ended: the run summary, or the spec's ``answer`` template.

    A run that succeeded gets ``answer.status`` (200); one whose rejects exceeded
    the tolerance 422, one that failed 500, a held lock 503 with ``Retry-After``.
    """
    status = SYNC_STATUS.get(report.status, 500)
    if report.exit_code == EXIT_REJECTS:
        status = 422
    answer = spec.webhook.answer if spec.webhook is not None else None
    if status == 200 and answer is not None:
        status = answer.status
    headers = {"Retry-After": "30"} if status == 503 else None
    if spec.template is None or answer is None:
        return JSONResponse(summary(report), status_code=status, headers=headers)
    settled = {i.uri for i in report.items if i.status == "done"}
    outcomes = [o.as_dict() for o in records.outcomes(settled)] if records is not None else []
    body = spec.template.render(summary(report, rejects=False), to_jsonable(outcomes))
    return Response(body, status_code=status, headers=headers, media_type=answer.content_type)


def runs_endpoint(server: Any) -> Any:
    """The ``GET /runs/{id}`` endpoint: a webhook run's status and counts.

    The run's spec decides who may ask, exactly as for its webhook (an API key
    in its header; a Fluent signature, over the empty body). An id this
    process does not know (never accepted, forgotten, or from before a
    restart) is 404.
    """

    async def run_status(request: Request) -> Response:
        run_id = str(request.path_params["run_id"])
        for spec in server.specs:
            entry = spec.runs.get(run_id)
            if entry is not None and spec.verifier is not None:
                break
        else:
            return _error(404, "unknown run", run_id=run_id)
        reason = spec.verifier.check_headers(request.headers) or spec.verifier.check(b"", request.headers)
        if reason is not None:
            client = request.client.host if request.client else None
            server.log.warning("run status refused", reason=reason, client=client, connector=spec.name)
            return _error(401, "unauthorized", reason=reason)
        entry["connector"] = spec.name
        return JSONResponse(redactor.scrub_obj(to_jsonable(entry)))

    return run_status


def health_endpoint(server: Any) -> Any:
    """The ``GET /health`` endpoint: each spec's trigger, queue, next run, last result and failures in a row.

    Answers 200; 503 once the server is stopping (so a load balancer stops
    sending requests) or while a spec's last ``unhealthy_after`` runs all
    failed (``status: unhealthy``, that spec's ``healthy: false``).
    """

    async def health(request: Request) -> Response:
        specs = []
        for spec in server.specs:
            schedule = server.schedules.get(spec.name)
            worker = server.workers.get(spec.name)
            entry: dict[str, Any] = {
                "name": spec.name,
                "spec": spec.path,
                "webhook": spec.webhook.path if spec.webhook else None,
                "response": spec.webhook.mode if spec.webhook else None,
                "schedule": spec.schedule,
                "next_run": schedule.next_due.isoformat() if schedule and schedule.next_due else None,
                # due times run by this instance, and by others sharing the store
                "scheduled_runs": {"here": schedule.runs, "elsewhere": schedule.elsewhere}
                if schedule
                else None,
                "store": "shared" if spec.shared_store is not None else "local",
                "running": spec.running,
                "queued": worker.queued if worker else 0,
                "last_run": spec.last,
                "failed_in_a_row": spec.failed_in_a_row,
                "healthy": not server.unhealthy(spec),
            }
            if worker is not None:
                entry["payloads"] = worker.spool.counts()
            specs.append(entry)
        unhealthy = [s["name"] for s in specs if not s["healthy"]]
        status = "stopping" if server.stopping else "unhealthy" if unhealthy else "ok"
        body: dict[str, Any] = {"status": status, "instance": server.instance.as_dict(), "specs": specs}
        if unhealthy:
            body["unhealthy"] = unhealthy
        return JSONResponse(body, status_code=200 if status == "ok" else 503)

    return health


def metrics_endpoint(server: Any) -> Any:
    """The ``GET /metrics`` endpoint: the server's counters in Prometheus' text format."""

    async def metrics(request: Request) -> Response:
        return Response(server.metrics.render(), media_type=CONTENT_TYPE)

    return metrics


def build_app(server: Any) -> Starlette:
    """The ASGI app for ``server``: ``/health``, ``/metrics``, ``/runs/{id}`` and a POST route per spec with a webhook."""
    routes = [
        Route("/health", health_endpoint(server), methods=["GET"]),
        Route("/metrics", metrics_endpoint(server), methods=["GET"]),
        Route("/runs/{run_id}", runs_endpoint(server), methods=["GET"]),
    ]
    for spec in server.specs:
        if spec.webhook is not None:
            routes.append(Route(spec.webhook.path, webhook_endpoint(server, spec), methods=["POST"]))
    return Starlette(routes=routes)
