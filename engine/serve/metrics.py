"""``GET /metrics``: what ``engine serve`` has done, in Prometheus' text format (prometheus-client).

Each server has its own registry (several servers in one process, as in
tests, never share counters). Runs, records and durations are counted when a
run of a served spec ends, whatever triggered it; webhook requests when they
are answered, by outcome; the schedule lag when a scheduled run starts (how
long after its due time). Queue depth and runs under way are read at scrape
time. Label values are connector names from specs (never request data), so
the number of series stays bounded by the specs served.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

#: run lengths from a webhook's milliseconds to a nightly file's hours
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400)
#: HTTP status of a webhook answer -> the outcome label
OUTCOMES = {
    200: "ok",
    202: "accepted",
    401: "unauthorized",
    408: "body_timeout",
    413: "too_large",
    422: "rejects_exceeded",
    500: "failed",
    503: "unavailable",
}
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServeMetrics:
    """The counters of one server; ``render()`` is the body of ``GET /metrics``."""

    def __init__(self, server: Any) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "engine_runs",
            "Runs finished, by connector, trigger and status",
            ["connector", "trigger", "status"],
            registry=r,
        )
        self.duration = Histogram(
            "engine_run_duration_seconds",
            "How long runs took, by connector and trigger",
            ["connector", "trigger"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.records = Counter(
            "engine_records",
            "Records of finished runs: read, written, and rejected by stage (parse, mapping, target)",
            ["connector", "outcome"],
            registry=r,
        )
        self.failed_in_a_row = Gauge(
            "engine_consecutive_failed_runs",
            "Runs of the connector that failed one after the other, up to now (0 after a run that did not fail)",
            ["connector"],
            registry=r,
        )
        self.schedule_lag = Gauge(
            "engine_schedule_lag_seconds",
            "How long after its due time the connector's last scheduled run started",
            ["connector"],
            registry=r,
        )
        self.webhooks = Counter(
            "engine_webhook_requests",
            "Webhook requests answered, by connector and outcome",
            ["connector", "outcome"],
            registry=r,
        )
        r.register(_Live(server))

    def run_finished(
        self, connector: str, trigger: str, summary: dict[str, Any], failed_in_a_row: int
    ) -> None:
        """Count one finished run from its summary (``engine.serve.specs.summary``)."""
        self.runs.labels(connector, trigger, summary.get("status") or "unknown").inc()
        if summary.get("seconds") is not None:
            self.duration.labels(connector, trigger).observe(float(summary["seconds"]))
        counts = summary.get("records") or {}
        for outcome in ("read", "written"):
            self.records.labels(connector, outcome).inc(int(counts.get(outcome) or 0))
        for stage, n in (counts.get("rejected") or {}).items():
            if stage != "total":
                self.records.labels(connector, f"rejected_{stage}").inc(int(n or 0))
        self.failed_in_a_row.labels(connector).set(failed_in_a_row)

    def webhook_answered(self, connector: str, status: int) -> None:
        """Count one webhook request by the outcome its HTTP status stands for."""
        self.webhooks.labels(connector, OUTCOMES.get(status, str(status))).inc()

    def scheduled_run_started(self, connector: str, lag_seconds: float) -> None:
        """A scheduled run started ``lag_seconds`` after its due time."""
        self.schedule_lag.labels(connector).set(max(0.0, lag_seconds))

    def render(self) -> bytes:
        """Every metric in Prometheus' text exposition format."""
        return bytes(generate_latest(self.registry))


class _Live:
    """Gauges read from the server when scraped: runs under way and async bodies waiting, per connector."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def collect(self) -> Iterator[GaugeMetricFamily]:
        running = GaugeMetricFamily(
            "engine_runs_in_progress", "Runs under way, by connector", labels=["connector"]
        )
        queued = GaugeMetricFamily(
            "engine_webhook_queue",
            "Async webhook bodies waiting for their run, by connector",
            labels=["connector"],
        )
        for spec in self.server.specs:
            running.add_metric([spec.name], 1 if spec.running else 0)
            worker = self.server.workers.get(spec.name)
            if worker is not None:
                queued.add_metric([spec.name], worker.queued)
        yield running
        yield queued

    def describe(self) -> list[Any]:
        return []
