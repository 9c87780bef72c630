"""Starlette routes of the Fluent API surface: OAuth, GraphQL, Job/Batch and Event APIs.

Authentication, fault injection and request logging happen before these handlers run (see
``app``); a handler finds the caller in ``request.state.principal``, the raw body in
``request.state.body`` and the firing fault's action in ``request.state.fault``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from engine.emulator import auth, eventlog, events, graphql_api, jobs
from engine.emulator.responses import ApiError, empty_response, json_object, json_response

if TYPE_CHECKING:
    from engine.emulator.core import Core

Handler = Callable[[Any, Request], Any]


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def token(core: Core, request: Request) -> Response:
    """``POST /oauth/token``: run the grant; refusals answer in the OAuth error shape, not ``errors``."""
    try:
        params = auth.token_params(request, request.state.body)
        return json_response(auth.issue(core, params, request.state.fault))
    except auth.AuthError as exc:
        return exc.response()


def graphql(core: Core, request: Request) -> Response:
    """``POST /graphql``: execute the query (GraphQL errors still answer 200)."""
    payload = graphql_api.run(core, request.state.principal, request.state.body, request.state.fault)
    return json_response(payload)


def create_job(core: Core, request: Request) -> Response:
    """``POST /api/v4.1/job``: create a job and answer its id."""
    job = jobs.create_job(core, request.state.principal, json_object(request.state.body))
    return json_response({"id": job["id"]})


def send_batch(core: Core, request: Request) -> Response:
    """``POST /api/v4.1/job/{job_id}/batch``: accept a batch and answer its id."""
    batch = jobs.send_batch(
        core,
        request.state.principal,
        request.path_params["job_id"],
        json_object(request.state.body),
        request.state.fault,
    )
    return json_response({"id": batch["id"]})


def job_status(core: Core, request: Request) -> Response:
    """``GET /api/v4.1/job/{job_id}``: the job and its batches (a poll: it may move them on)."""
    job = jobs.get_job(core, request.state.principal, request.path_params["job_id"])
    return json_response(jobs.job_body(core, job))


def batch_status(core: Core, request: Request) -> Response:
    """``GET /api/v4.1/job/{job_id}/batch/{batch_id}``: a poll that may move the batch on.

    A ``batch_stuck`` fault on the poll holds the batch in that status from now on.
    """
    batch = jobs.get_batch(
        core, request.state.principal, request.path_params["job_id"], request.path_params["batch_id"]
    )
    if request.state.fault.get("batch_stuck"):
        batch["_stuck"] = request.state.fault["batch_stuck"]
    jobs.progress(core, batch, polled=True)
    return json_response(jobs.batch_body(core, batch))


def job_results(core: Core, request: Request) -> Response:
    """``GET /api/v4.1/job/{job_id}/results``: 404 unless the ``job_results_endpoint`` setting is on."""
    if not core.settings.job_results_endpoint:
        raise ApiError(404, "Not Found")
    job = jobs.get_job(core, request.state.principal, request.path_params["job_id"])
    return json_response(jobs.results_body(core, job))


def _event(mode: str) -> Handler:
    def handle(core: Core, request: Request) -> Response:
        status, body = events.receive(
            core, request.state.principal, json_object(request.state.body), mode, request.state.fault
        )
        return empty_response(status) if body is None else json_response(body, status)

    return handle


def event_search(core: Core, request: Request) -> Response:
    """``GET /api/v4.1/event``: search the event log with the query parameters."""
    return json_response(eventlog.search(core, request.state.principal, dict(request.query_params)))


def event_get(core: Core, request: Request) -> Response:
    """``GET /api/v4.1/event/{event_id}``: one event-log entry, without internal fields."""
    return json_response(
        _public(eventlog.get(core, request.state.principal, request.path_params["event_id"]))
    )


def _endpoint(core: Core, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return handler(core, request)
        except ApiError as exc:
            return exc.response()

    return endpoint


def routes(core: Core) -> list[Route]:
    """The Starlette routes of the Fluent API, each turning an ApiError into its error response."""
    table: list[tuple[str, str, Handler]] = [
        ("/oauth/token", "POST", token),
        ("/graphql", "POST", graphql),
        ("/api/v4.1/job", "POST", create_job),
        ("/api/v4.1/job/{job_id}", "GET", job_status),
        ("/api/v4.1/job/{job_id}/batch", "POST", send_batch),
        ("/api/v4.1/job/{job_id}/batch/{batch_id}", "GET", batch_status),
        ("/api/v4.1/job/{job_id}/results", "GET", job_results),
        ("/api/v4.1/event/async", "POST", _event("async")),
        ("/api/v4.1/event/sync", "POST", _event("sync")),
        ("/api/v4.1/event", "GET", event_search),
        ("/api/v4.1/event/{event_id}", "GET", event_get),
    ]
    return [Route(path, _endpoint(core, handler), methods=[method]) for path, method, handler in table]
