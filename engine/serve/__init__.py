"""``engine serve``: webhook endpoints and cron schedules that trigger specs.

See docs/serve.md. :class:`Server` is the whole of it; tests and embedders
start one on a free port with ``Server(load_specs([...]), ServeOptions(port=0)).start()``.
"""

from engine.serve.server import ServeOptions, Server, load_specs

__all__ = ["ServeOptions", "Server", "load_specs"]
