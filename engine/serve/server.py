"""``engine serve``: webhooks and schedules that trigger specs, in one long-running process.

Start-up loads and validates every spec and resolves every webhook secret;
any problem stops it before a port is opened. uvicorn serves the HTTP side
on a background thread (tests start it the same way) while the main thread
waits for SIGTERM or Ctrl-C. Shutdown is graceful: new requests get 503,
schedules stop, requests in flight and runs under way finish (up to
``shutdown_timeout``), queued bodies stay in the spool for the next start.
What one sender can hold (connections, time before a request, memory for
bodies) is bounded by :mod:`engine.serve.limits` and :class:`ServeOptions`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import signal
import socket
import threading
import time
from typing import Any

import uvicorn

from engine.errors import ConfigError, EngineError, SpecError
from engine.runtime.logs import Log
from engine.serve.app import build_app
from engine.serve.clock import Clock
from engine.serve.instance import Instance
from engine.serve.limits import BodyBudget, header_deadline_protocol
from engine.serve.metrics import ServeMetrics
from engine.serve.scheduler import Schedule, SlotLeases
from engine.serve.specs import ServedSpec
from engine.serve.spool import Spool, StoreSpool
from engine.serve.worker import SharedWorker, Worker

RESERVED_PATHS = ("/health", "/metrics", "/runs")
#: GET /runs/{id} answers under this prefix
RESERVED_PREFIXES = ("/runs/",)
#: seconds an idle connection stays open after an answer (uvicorn's default, stated)
KEEP_ALIVE = 5


@dataclasses.dataclass
class ServeOptions:
    """How ``engine serve`` listens and how much it accepts; ``port=0`` picks a free port."""

    host: str = "127.0.0.1"
    port: int = 8080
    #: larger request bodies are refused with 413
    max_body: int = 10 * 1024 * 1024
    #: bytes of request bodies held in memory at once, all requests together; beyond it 503
    max_body_total: int = 100 * 1000 * 1000
    #: connections open at once; a request arriving while this many are open is answered 503
    max_connections: int = 100
    #: a connection must deliver a request's complete headers this soon after opening or its last answer
    header_timeout: float = 10.0
    #: the whole body of a request must arrive within this time (else 408)
    body_timeout: float = 30.0
    #: async bodies waiting per spec before 503
    queue_size: int = 100
    #: how long shutdown waits for runs under way
    shutdown_timeout: float = 60.0
    allow_custom_code: bool = False
    #: /health answers 503 once a spec's last this many runs failed (0: never)
    unhealthy_after: int = 3
    #: send OpenTelemetry traces (the otel extra; see engine.serve.telemetry)
    otel: bool = False
    #: the schedules' clock (tests pass a ManualClock)
    clock: Clock | None = None


def load_specs(
    paths: list[str], *, allow_custom_code: bool = False, log: Log | None = None
) -> list[ServedSpec]:
    """Every spec loaded and checked for serving; all problems of all specs raised together."""
    specs: list[ServedSpec] = []
    problems: list[str] = []
    diagnostics: list[Any] = []
    for path in paths:
        try:
            specs.append(ServedSpec.load(path, allow_custom_code=allow_custom_code, log=log))
        except SpecError as exc:
            diagnostics.extend(exc.diagnostics)
            problems.append(exc.message)
        except EngineError as exc:
            problems.append(f"{path}: {exc}")
    seen_names: dict[str, str] = {}
    seen_paths: dict[str, str] = {}
    for spec in specs:
        if spec.name in seen_names:
            problems.append(
                f"{spec.path}: name '{spec.name}' is also the name of {seen_names[spec.name]} "
                "(served specs need distinct names: they share state by name)"
            )
        seen_names.setdefault(spec.name, spec.path)
        route = spec.webhook.path if spec.webhook else None
        if route in RESERVED_PATHS or (route or "").startswith(RESERVED_PREFIXES):
            problems.append(f"{spec.path}: trigger.webhook.path {route} is reserved by engine serve")
        elif route and route in seen_paths:
            problems.append(
                f"{spec.path}: trigger.webhook.path {route} is also served for {seen_paths[route]}"
            )
        elif route:
            seen_paths[route] = spec.path
    if problems:
        raise SpecError("\n".join(problems), diagnostics)
    return specs


class Server:
    """The HTTP app, async workers and schedules of a set of loaded specs, started and stopped together.

    Constructing one does no I/O; :meth:`start` binds the port (``options.port``
    then holds the one bound) and :meth:`stop` shuts down gracefully.
    """

    def __init__(
        self, specs: list[ServedSpec], options: ServeOptions | None = None, *, log: Log | None = None
    ) -> None:
        self.specs = specs
        self.options = options or ServeOptions()
        self.log = log or Log()
        self.max_body = self.options.max_body
        self.budget = BodyBudget(max(self.options.max_body_total, self.options.max_body))
        self.stopping = False
        self.workers: dict[str, Worker] = {}
        self.schedules: dict[str, Schedule] = {}
        self.metrics = ServeMetrics(self)
        for spec in specs:
            spec.listeners.append(self._count_run)
        self.instance = Instance.here()
        for spec in specs:
            shared = spec.shared_store
            if spec.webhook is not None and spec.webhook.mode == "async":
                root = spec.state_dir / "payloads" / spec.name
                if shared is not None:
                    spool = StoreSpool(shared, spec.name, self.instance.owner, spec.lease_ttl, root)
                    self.workers[spec.name] = SharedWorker(
                        spec, spool, size=self.options.queue_size, log=self.log
                    )
                else:
                    self.workers[spec.name] = Worker(
                        spec, Spool(root), size=self.options.queue_size, log=self.log
                    )
            if spec.schedule:
                slots = (
                    SlotLeases(shared, spec.name, self.instance.owner, spec.lease_ttl)
                    if shared is not None
                    else None
                )
                self.schedules[spec.name] = Schedule(
                    spec.name,
                    spec.schedule,
                    _scheduled(spec, self),
                    clock=self.options.clock,
                    log=self.log,
                    slots=slots,
                )
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._signalled = threading.Event()
        #: sync runs that outlived their answer's timeout (answered 202): a graceful stop waits for them
        self._outlived: set[concurrent.futures.Future[Any]] = set()
        self._outlived_lock = threading.Lock()

    def outlived(self, future: concurrent.futures.Future[Any]) -> None:
        """A sync run answered 202 goes on without its request; :meth:`stop` waits for it."""

        def forget(done: concurrent.futures.Future[Any]) -> None:
            with self._outlived_lock:
                self._outlived.discard(done)

        with self._outlived_lock:
            self._outlived.add(future)
        future.add_done_callback(forget)

    def _count_run(self, spec: ServedSpec, trigger: str, summary: dict[str, Any]) -> None:
        self.metrics.run_finished(spec.name, trigger, summary, spec.failed_in_a_row)

    def unhealthy(self, spec: ServedSpec) -> bool:
        """Whether ``spec``'s last ``unhealthy_after`` runs all failed."""
        limit = self.options.unhealthy_after
        return bool(limit) and spec.failed_in_a_row >= limit

    @property
    def url(self) -> str:
        """The base URL clients use, e.g. ``http://127.0.0.1:8080`` (IPv6 hosts bracketed)."""
        host = f"[{self.options.host}]" if ":" in self.options.host else self.options.host
        return f"http://{host}:{self.options.port}"

    # -- start ------------------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.options.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # uvicorn writes a response's head and body separately; with Nagle's algorithm on, the body
        # waits for the client's delayed ACK (~40 ms). Accepted connections inherit this (Linux, BSD).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.options.host, self.options.port))
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"cannot listen on {self.options.host}:{self.options.port}: {exc.strerror or exc}",
                hint="choose another --port, or stop what is using it",
            ) from None
        sock.listen(2048)
        self.options.port = sock.getsockname()[1]
        return sock

    def start(self) -> Server:
        """Listen on a background thread; returns once requests are accepted."""
        if self._thread is not None:
            return self
        if self.options.otel:
            from engine.serve import telemetry

            telemetry.setup()
        self._socket = self._bind()
        try:
            for spec in self.specs:  # shared stores coordinate schedules and spooled bodies
                if spec.shared_store is not None:
                    spec.shared_store.open_for(spec.doc.base_dir)
        except EngineError:
            self._socket.close()
            self._socket = None
            raise
        for worker in self.workers.values():
            worker.start()
        config = uvicorn.Config(
            build_app(self),
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http=header_deadline_protocol(self.options.header_timeout, self.log),
            limit_concurrency=self.options.max_connections,
            timeout_keep_alive=KEEP_ALIVE,
            server_header=False,
            timeout_graceful_shutdown=max(1, int(self.options.shutdown_timeout)),
        )
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._uvicorn.run,
            kwargs={"sockets": [self._socket]},
            name=f"engine-serve:{self.options.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"the server failed to start on {self.url}")
            time.sleep(0.005)
        for schedule in self.schedules.values():
            schedule.start()
        self.log.info(
            "serving",
            url=self.url,
            specs=",".join(s.name for s in self.specs),
            webhooks=",".join(s.webhook.path for s in self.specs if s.webhook) or None,
            schedules=",".join(f"{s.name}={s.schedule}" for s in self.specs if s.schedule) or None,
        )
        return self

    # -- stop -------------------------------------------------------------------------------

    def stop(self, timeout: float | None = None) -> bool:
        """Graceful stop; True when every run finished within the timeout."""
        timeout = self.options.shutdown_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        self.stopping = True
        for schedule in self.schedules.values():
            schedule.stop()
        for worker in self.workers.values():
            worker.stop()
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()) + 1)
        finished = all(s.join(max(0.0, deadline - time.monotonic())) for s in self.schedules.values())
        finished = (
            all(w.join(max(0.0, deadline - time.monotonic())) for w in self.workers.values()) and finished
        )
        with self._outlived_lock:
            outlived = list(self._outlived)
        if outlived:
            _done, still = concurrent.futures.wait(outlived, max(0.0, deadline - time.monotonic()))
            finished = finished and not still
        if self._socket is not None:
            self._socket.close()
        self._thread = self._uvicorn = self._socket = None
        for spec in self.specs:
            if spec.shared_store is not None:
                spec.shared_store.close()
        if not finished:
            self.log.warning(
                "stopped with runs still going",
                timeout=f"{timeout:g}s",
                running=",".join(s.name for s in self.specs if s.running) or None,
            )
        else:
            self.log.info("stopped")
        return finished

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- foreground -------------------------------------------------------------------------

    def serve_forever(self) -> bool:
        """Serve until SIGTERM or SIGINT, then stop gracefully (a second signal stops at once).

        True after a stop asked for by a signal (runs cut off by the timeout are logged), False
        when the HTTP server ended by itself.
        """
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

        def handle(signum: int, frame: Any) -> None:
            if self._signalled.is_set():
                raise SystemExit(1)
            self.log.info(
                "stopping: finishing runs under way",
                signal=signal.Signals(signum).name,
                timeout=f"{self.options.shutdown_timeout:g}s",
            )
            self._signalled.set()

        for sig in previous:
            signal.signal(sig, handle)
        try:
            self.start()
            while not self._signalled.wait(0.5):
                if self._thread is not None and not self._thread.is_alive():
                    self.log.error("the HTTP server stopped unexpectedly")
                    break
            self.stop()
            return self._signalled.is_set()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _scheduled(spec: ServedSpec, server: Server) -> Any:
    def run() -> None:
        schedule = server.schedules.get(spec.name)
        if schedule is not None and schedule.next_due is not None:
            late = (schedule.clock.now() - schedule.next_due).total_seconds()
            server.metrics.scheduled_run_started(spec.name, late)
        report = spec.run(None, trigger="schedule")
        level = spec.log.info if report.exit_code == 0 else spec.log.error
        level(
            "scheduled run finished",
            run_id=report.run_id,
            status=report.status,
            records=report.counts.get("read"),
            written=report.counts.get("written"),
            rejected=report.counts.get("rejected", {}).get("total"),
            error=report.error,
        )

    return run
