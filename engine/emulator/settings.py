"""Emulator settings: every behaviour the Fluent contract leaves open is a named switch.

The reference contract marks many shapes and limits as inferred rather than observed. The
emulator picks one default for each, and exposes it here so a connector can be tested against
the alternatives too. Settings come from (in increasing priority) the defaults below, the seed's
``settings:`` block, the ``settings=`` argument / ``--setting KEY=VALUE`` options, and
``POST /_emulator/settings`` at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from engine.suggest import did_you_mean


@dataclass(frozen=True)
class Option:
    """One switch: its default, its type (or the allowed strings), and the line that documents it."""

    default: Any
    kind: type | tuple[str, ...]
    doc: str


OPTIONS: dict[str, Option] = {
    # --- auth -----------------------------------------------------------------
    "token_ttl_seconds": Option(43199, int, "Access token lifetime on the emulator clock (expires_in)."),
    "client_credentials_grant": Option(
        True, bool, "Accept grant_type=client_credentials (unconfirmed on real Fluent)."
    ),
    "token_retailer_field": Option(True, bool, "Add Retailer_id to token responses."),
    # --- jobs and batches -------------------------------------------------------
    "job_ttl_seconds": Option(86400, int, "A job expires this long after creation."),
    "job_expired_status": Option(
        400, int, "HTTP status for a batch sent to an expired job (400, 409 or 410)."
    ),
    "job_shape": Option("inferred", ("inferred", "sdk_types"), "Job/batch status body shape."),
    "job_results_endpoint": Option(False, bool, "Serve GET /api/v4.1/job/{id}/results (SDK-only route)."),
    "max_batch_records": Option(5000, int, "Most entities accepted in one batch."),
    "max_body_bytes": Option(10 * 1024 * 1024, int, "Largest request body accepted (413 beyond)."),
    "strict_batch": Option(False, bool, "Require source and event on a batch."),
    "require_entity_retailer_id": Option(True, bool, "A batch entity without retailerId is rejected."),
    "auto_create_missing_products": Option(False, bool, "Create unknown skuRefs instead of rejecting them."),
    "default_inventory_catalogue": Option(
        "DEFAULT:{retailerId}", str, "catalogueRef used when a batch has none."
    ),
    "delta_mode": Option("add", ("add", "set"), "DELTA entities add qty to onHand (add) or set it (set)."),
    "entity_index_base": Option(0, int, "entityIndex of the first entity in a batch (0 or 1)."),
    "batch_preprocessing": Option(True, bool, "Batch pre-processing: unchanged entities are skipped."),
    "batch_polls_per_step": Option(
        1, int, "Status polls that move a batch one step (0 = polls never move it)."
    ),
    "batch_seconds_per_step": Option(5, int, "Emulator seconds that move a batch one step (0 = never)."),
    "batch_complete_on_receipt": Option(False, bool, "Apply and complete a batch as soon as it is received."),
    # --- events -------------------------------------------------------------------
    "event_async_body": Option("empty", ("empty", "id"), "Body of an accepted async event."),
    "strict_event_names": Option(True, bool, "An async event with no workflow rule is a 400."),
    "sync_no_match": Option(
        "404", ("404", "200"), "Sync event with no rule or entity: 404, or 200 + NO_MATCH."
    ),
    "event_delay_seconds": Option(0, int, "Emulator seconds before an async event is handled."),
    "event_window_days": Option(30, int, "Default event-log search window."),
    "event_max_past_days": Option(120, int, "Oldest allowed event-log 'from'."),
    "event_max_future_days": Option(31, int, "Latest allowed event-log 'to'."),
    "event_not_found_status": Option(404, int, "Status for an unknown event id."),
    # --- graphql ------------------------------------------------------------------
    "default_page_size": Option(100, int, "Connection size when neither first nor last is given."),
    "max_page_size": Option(5000, int, "Largest first/last accepted."),
    "page_size_overflow": Option(
        "error", ("error", "clamp"), "first/last above max_page_size: C0001E or clamp."
    ),
    "pagination_order": Option("id", ("id", "updatedOn_desc"), "Order of connection results."),
    "pageinfo_end_cursor": Option(False, bool, "Add endCursor/startCursor to PageInfo."),
    "create_product_alias": Option(False, bool, "Offer a generic createProduct mutation."),
    "daterange_after_alias": Option(False, bool, "Accept DateRange{after} as a synonym of from."),
    "graphql_error_classification": Option(True, bool, "Add extensions.classification (graphql-java style)."),
    "max_string_length": Option(255, int, "Longest string accepted in mutation inputs (C0141E beyond)."),
    # --- webhooks -----------------------------------------------------------------
    "webhook_retries": Option(3, int, "Extra delivery attempts after a non-2xx answer."),
    "webhook_backoff_ms": Option(200, int, "First retry delay; doubles each attempt."),
    "webhook_flex_signature": Option(False, bool, "Also send the legacy flex.signature (MD5withRSA)."),
    # --- misc -----------------------------------------------------------------------
    "request_log_limit": Option(10000, int, "Request log entries kept (oldest dropped first)."),
    "fault_random_seed": Option(0, int, "Seed for fault rules that use 'probability'."),
    "clock_start": Option("", str, "Freeze the clock at this ISO instant (empty = wall clock)."),
}


class SettingsError(ValueError):
    """A setting name or value is not valid."""


def _coerce(name: str, value: Any) -> Any:
    option = OPTIONS[name]
    if isinstance(value, str) and option.kind is not str:
        value = yaml.safe_load(value) if value.strip() else value
    if isinstance(option.kind, tuple):
        value = str(value)
        if value not in option.kind:
            raise SettingsError(f"setting {name}: {value!r} is not one of {', '.join(option.kind)}")
        return value
    if option.kind is bool and not isinstance(value, bool):
        raise SettingsError(f"setting {name}: expected true or false, got {value!r}")
    if option.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise SettingsError(f"setting {name}: expected an integer, got {value!r}")
    if option.kind is str and not isinstance(value, str):
        value = str(value)
    return value


def validate(overrides: dict[str, Any]) -> dict[str, Any]:
    """Coerce and check a partial settings mapping; unknown names fail with a suggestion."""
    clean: dict[str, Any] = {}
    for name, value in (overrides or {}).items():
        if name not in OPTIONS:
            raise SettingsError(f"unknown setting {name!r}{did_you_mean(name, OPTIONS)}")
        clean[name] = _coerce(name, value)
    return clean


def parse_pairs(pairs: list[str]) -> dict[str, Any]:
    """Turn ``KEY=VALUE`` strings (from the command line) into a validated mapping."""
    raw: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SettingsError(f"--setting {pair!r}: expected KEY=VALUE")
        raw[name.strip()] = value.strip()
    return validate(raw)


class Settings:
    """Current settings as attributes; a plain object so hot paths read them cheaply."""

    def __init__(self, *layers: dict[str, Any] | None) -> None:
        for name, option in OPTIONS.items():
            setattr(self, name, option.default)
        for layer in layers:
            self.update(layer or {})

    def update(self, overrides: dict[str, Any]) -> None:
        """Validate ``overrides`` and apply them; nothing changes when one is invalid (SettingsError)."""
        for name, value in validate(overrides).items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """Every setting's current value, in :data:`OPTIONS` order (what the control API shows)."""
        return {name: getattr(self, name) for name in OPTIONS}

    def __getattr__(self, name: str) -> Any:  # only reached for unknown names
        raise AttributeError(f"unknown setting {name!r}{did_you_mean(name, OPTIONS)}")
