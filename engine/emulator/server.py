"""``Emulator``: the emulator as a real HTTP server on a background thread, plus a Python API.

Tests and ``base_url: embedded`` specs start it in-process on a free loopback port; the
``engine emulator`` command serves it in the foreground. One uvicorn server, one event loop,
one thread: ``stop()`` wakes hung requests, shuts the server down and joins the thread, so
nothing is left running. Python methods mirror the control API and run on the server's loop.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from engine.emulator import control
from engine.emulator.app import EmulatorApp
from engine.emulator.core import Core


def _tracking_protocol(registry: dict[tuple[str, int], Any]) -> type:
    """Uvicorn's HTTP protocol, remembering each connection's transport in ``registry``.

    The ``drop_connection`` fault aborts a transport found there (ASGI itself offers no way to
    reset a connection).

    It also turns Nagle's algorithm off: uvicorn writes a response's head and body separately,
    and on a socket with Nagle on, the second write waits for the client's delayed ACK (~40 ms
    per request on loopback).
    """

    class TrackingProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._peer = self.client
            if self._peer:
                registry[tuple(self._peer)] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            if getattr(self, "_peer", None):
                registry.pop(tuple(self._peer), None)
            super().connection_lost(exc)

    return TrackingProtocol


async def _awaited(value: Any) -> Any:
    return await value


class Emulator:
    """A Fluent Commerce emulator. ``with Emulator() as emu: httpx.get(emu.url + ...)``."""

    def __init__(
        self,
        seed: str | Path | dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.core = Core(seed, settings)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._socket: socket.socket | None = None

    # --- lifecycle --------------------------------------------------------------------

    def _config(self) -> uvicorn.Config:
        return uvicorn.Config(
            EmulatorApp(self.core),
            log_level="warning",
            access_log=False,
            lifespan="on",
            http=_tracking_protocol(self.core.transports),
            loop="asyncio",
            timeout_graceful_shutdown=2,
            server_header=False,
        )

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        return sock

    def start(self) -> Emulator:
        """Listen on a background thread and return once requests are accepted; idempotent.

        Raises RuntimeError when the server does not come up within 10 seconds,
        and OSError when the port cannot be bound.
        """
        if self._thread is not None:
            return self
        self._socket = self._bind()
        self._server = uvicorn.Server(self._config())
        self._thread = threading.Thread(target=self._run, name=f"fluent-emulator:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator failed to start on {self.host}:{self.port}")
            time.sleep(0.002)
        return self

    def _run(self) -> None:
        assert self._socket is not None
        self._serve(self._socket, None)

    def _serve(self, sock: socket.socket, announce: Callable[[Emulator], None] | None) -> None:
        """Run uvicorn on ``sock``; remember its loop and announce once it is listening."""
        server = self._server
        assert server is not None
        original = server.startup

        async def startup(sockets: Any = None) -> None:
            self._loop = asyncio.get_running_loop()
            await original(sockets=sockets)
            if announce is not None:
                announce(self)

        server.startup = startup  # type: ignore[method-assign]
        server.run(sockets=[sock])

    def serve_forever(self, announce: Callable[[Emulator], None] | None = None) -> None:
        """Serve on the calling thread until interrupted (the ``engine emulator`` command)."""
        self._socket = self._bind()
        self._server = uvicorn.Server(self._config())
        try:
            self._serve(self._socket, announce)
        finally:
            self._socket.close()
            self._server = self._loop = self._socket = None

    def stop(self) -> None:
        """Wake hung requests, shut the server down and join its thread; harmless when not started."""
        thread, server, loop = self._thread, self._server, self._loop
        if thread is None or server is None:
            return
        if loop is not None and not loop.is_closed() and self.core.shutdown is not None:
            try:
                loop.call_soon_threadsafe(self.core.shutdown.set)
            except RuntimeError:
                pass
        server.should_exit = True
        thread.join(timeout=5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
        self._thread = self._server = self._loop = self._socket = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (the bound port once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def store(self) -> Any:
        """The live :class:`~engine.emulator.store.Store`; read it only while no request is running."""
        return self.core.store

    @property
    def settings(self) -> Any:
        """The live settings object; change settings with :meth:`configure`, not through this."""
        return self.core.settings

    @property
    def credentials(self) -> dict[str, str]:
        """The seed's first account and first user: the demo login of the default seed."""
        account = next(iter(self.core.store.accounts.values()))
        user = next(iter(self.core.store.users), None)
        retailer = (
            user["retailerIds"][0] if user and user["retailerIds"] else self.core.store.retailers.ids[0]
        )
        return {
            "client_id": account["id"],
            "client_secret": account["clientSecret"],
            "username": user["username"] if user else "",
            "password": user["password"] if user else "",
            "retailer_id": str(retailer),
        }

    # --- Python mirror of the control API ---------------------------------------------

    def _call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn`` on the server loop (state is only touched there) and return its result."""
        loop = self._loop
        if loop is None or not loop.is_running():
            result = fn(*args)
            if inspect.isawaitable(result):
                return asyncio.run(_awaited(result))
            return result

        async def invoke() -> Any:
            result = fn(*args)
            return await result if inspect.isawaitable(result) else result

        return asyncio.run_coroutine_threadsafe(invoke(), loop).result(timeout=60)

    def add_fault(self, rule: dict[str, Any]) -> dict[str, Any]:
        """Add one fault rule (FaultError if malformed); returns it as stored, with its id."""
        return self._call(control.add_faults, self.core, rule)[0]

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._call(self.core.faults.clear)

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules in force, with how often each matched and fired."""
        return self._call(self.core.faults.public)

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """Request-log entries, filtered as ``GET /_emulator/requests`` filters them (values as strings)."""
        return self._call(self.core.log.query, {k: str(v) for k, v in filters.items()})

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._call(self.core.log.clear)

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the emulator clock ahead, run what became due, and return the new clock."""
        return self._call(control.move_clock, self.core, {"advance_seconds": seconds})

    def set_clock(self, instant: str) -> dict[str, Any]:
        """Move the emulator clock to an ISO instant, run what became due, and return the new clock."""
        return self._call(control.move_clock, self.core, {"set": instant})

    def now(self) -> str:
        """The emulator's time, in the stored fixed-width ISO form."""
        return self._call(self.core.clock.now_iso)

    def tick(self) -> dict[str, int]:
        """Finish pending batches and events now; returns how many of each."""
        return self._call(self.core.tick)

    def reset(self) -> None:
        """Back to the last loaded seed and the start-up settings (state, clock, faults, log)."""
        self._call(self.core.reset)

    def load_seed(self, seed: Any, merge: bool = False) -> dict[str, Any]:
        """Replace the state with a seed (YAML text or data), or merge it in; returns the table counts."""
        return self._call(control.load_seed, self.core, seed, merge)

    def state(self, entity: str, **filters: Any) -> list[dict[str, Any]]:
        """Rows of one entity whose fields equal ``filters`` (compared as strings); KeyError if unknown."""
        return self._call(control.state, self.core, entity, {k: str(v) for k, v in filters.items()})

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change settings until the next reset (SettingsError if invalid); returns them all."""
        self._call(self.core.configure, changes)
        return self.core.settings.as_dict()

    def register_webhook(self, url: str, **options: Any) -> dict[str, Any]:
        """Subscribe ``url`` to webhooks (options: ``triggers``, ``fault``, ``name``); returns the row."""
        return self._call(self.core.webhooks.register, {"url": url, **options})

    def send_webhook(
        self, event: dict[str, Any], url: str | None = None, fault: str | None = None
    ) -> list[Any]:
        """Deliver ``event`` now, signed, to ``url`` or every subscription; returns one result per URL."""
        return self._call(control.send_webhook, self.core, {"event": event, "url": url, "fault": fault})

    def public_key(self) -> dict[str, str]:
        """The webhook signing key's public half, as PEM and as bare base64."""
        return self._call(self.core.webhooks.public_key)
