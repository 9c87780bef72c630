"""Fault rules: which requests misbehave, when, and how.

A rule is ``{match: {...}, when: {...}, action: {...}}``. ``match`` narrows requests (method,
path regex, GraphQL operation or root field, OAuth grant type); ``when`` picks which of the
matching requests fire (the nth, every kth, at most N times, with a probability, or only after
some emulator seconds); ``action`` says what happens (see ``ACTIONS``). When several rules fire
on one request their actions are merged, earlier rules winning on the same key.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from engine.suggest import did_you_mean

MATCH_KEYS = ("method", "path_regex", "graphql_operation", "graphql_root_field", "grant_type")
WHEN_KEYS = ("nth", "every", "times", "probability", "after_seconds")
ACTIONS = {
    "status": "answer with this HTTP status instead of handling the request",
    "headers": "extra response headers (e.g. Retry-After)",
    "body": "response body for 'status' (text, or JSON when an object)",
    "content_type": "Content-Type of 'body'",
    "html": "use an HTML gateway error page as the body",
    "after_commit": "handle the request (commit the write), then answer with 'status'",
    "delay_ms": "wait this long before answering",
    "hang": "never answer (until the emulator stops)",
    "drop_connection": "close the connection without an answer",
    "graphql_error": "answer 200 with a GraphQL error of this code, e.g. {code: C0011E}",
    "graphql_partial": "null these response paths and add an error for each: {paths: [...], code}",
    "pagination_anomaly": "repeat_cursor | missing_cursor | empty_page_with_has_next | duplicate_node_ids",
    "expire_job": "expire this job id, or 'next' for the job the request addresses",
    "batch_stuck": "batches created or polled by the request stay in this status",
    "batch_fail_records": "entity indices (list) or ratio (number) of the batch that fail",
    "event_no_match": "the event matches no workflow rule",
    "event_status": "the event's workflow ends in this status (e.g. FAILED)",
    "empty_body": "answer with an empty body",
    "truncated_json": "cut the response body in half",
    "wrong_content_type": "serve the response as text/html",
    "revoke_tokens": "revoke every access token before handling",
    "expire_token_after": "tokens (or the token this request obtains) expire after N emulator seconds",
    "refresh_grant_fails": "reject refresh_token grants with 400 invalid_grant",
}


class FaultError(ValueError):
    """A fault rule is malformed."""


def _check_keys(block: Any, allowed: Any, where: str) -> dict[str, Any]:
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise FaultError(f"{where}: expected a mapping")
    for key in block:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            if not hint:
                prefixed = [name for name in allowed if name.startswith(str(key))]
                hint = (
                    f" (did you mean '{prefixed[0]}'?)"
                    if prefixed
                    else f" (expected one of {', '.join(allowed)})"
                )
            raise FaultError(f"{where}.{key}: unknown key{hint}")
    return block


class FaultRules:
    """The fault rules in force, in the order added, with how often each matched and fired.

    ``random_seed`` makes ``probability`` rules repeatable from run to run.
    """

    def __init__(self, clock: Any, random_seed: int = 0) -> None:
        self.clock = clock
        self.rules: list[dict[str, Any]] = []
        self.random = random.Random(random_seed)
        self._next = 1

    def add(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Validate a rule and append it with a new id; returns the stored rule.

        Raises FaultError, naming the key and suggesting a spelling, when the rule is malformed.
        """
        if not isinstance(spec, dict):
            raise FaultError("rule: expected a mapping with match, when and action")
        _check_keys(spec, ("match", "when", "action", "name"), "rule")
        match = dict(_check_keys(spec.get("match"), MATCH_KEYS, "match"))
        when = _check_keys(spec.get("when"), WHEN_KEYS, "when")
        action = _check_keys(spec.get("action"), ACTIONS, "action")
        if not action:
            raise FaultError("action: at least one action is required")
        if "path_regex" in match:
            try:
                match["_regex"] = re.compile(match["path_regex"])
            except re.error as exc:
                raise FaultError(f"match.path_regex: {exc}") from None
        if "refresh_grant_fails" in action:
            match.setdefault("grant_type", "refresh_token")
        rule = {
            "id": str(self._next),
            "name": spec.get("name"),
            "match": match,
            "when": dict(when),
            "action": dict(action),
            "matched": 0,
            "fired": 0,
            "created": self.clock.timestamp(),
        }
        self._next += 1
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()

    def remove(self, rule_id: str) -> bool:
        """Remove the rule with this id; False when there was none."""
        before = len(self.rules)
        self.rules = [r for r in self.rules if r["id"] != rule_id]
        return len(self.rules) != before

    def public(self) -> list[dict[str, Any]]:
        """The rules as the control API shows them, without internal ``_`` keys (the compiled regex)."""
        return [
            {**r, "match": {k: v for k, v in r["match"].items() if not k.startswith("_")}} for r in self.rules
        ]

    def evaluate(
        self, method: str, path: str, lazy: Callable[[str], Any]
    ) -> tuple[dict[str, Any], list[str]]:
        """The merged action of every rule firing on this request, and the ids that fired.

        ``lazy(name)`` supplies request facts that cost a parse (grant type, GraphQL operation
        name, GraphQL root fields) only when a rule asks for them.
        """
        if not self.rules:
            return {}, []
        merged: dict[str, Any] = {}
        fired: list[str] = []
        for rule in self.rules:
            if not self._matches(rule["match"], method, path, lazy) or not self._fires(rule):
                continue
            fired.append(rule["id"])
            for key, value in rule["action"].items():
                merged.setdefault(key, value)
        return merged, fired

    def _matches(self, match: dict[str, Any], method: str, path: str, lazy: Callable[[str], Any]) -> bool:
        if "method" in match and str(match["method"]).upper() != method:
            return False
        if "_regex" in match and not match["_regex"].search(path):
            return False
        if "grant_type" in match and lazy("grant_type") != match["grant_type"]:
            return False
        if "graphql_operation" in match and lazy("graphql_operation") != match["graphql_operation"]:
            return False
        return not (
            "graphql_root_field" in match and match["graphql_root_field"] not in lazy("graphql_root_fields")
        )

    def _fires(self, rule: dict[str, Any]) -> bool:
        when = rule["when"]
        if "after_seconds" in when and self.clock.timestamp() - rule["created"] < float(
            when["after_seconds"]
        ):
            return False
        rule["matched"] += 1
        n = rule["matched"]
        if "nth" in when and n != int(when["nth"]):
            return False
        if "every" in when and n % int(when["every"]) != 0:
            return False
        if "times" in when and rule["fired"] >= int(when["times"]):
            return False
        if "probability" in when and self.random.random() >= float(when["probability"]):
            return False
        rule["fired"] += 1
        return True
