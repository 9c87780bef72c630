"""Tokens the fluent connection obtains at run time are secrets from the moment they arrive."""

from __future__ import annotations

from engine.fluent.client import FluentClient
from engine.runtime.logs import Log
from engine.secrets import redactor


def test_the_access_token_is_scrubbed_from_every_output(emulator) -> None:
    creds = {k: str(v) for k, v in emulator.credentials.items() if k != "retailer_id"}
    fc = FluentClient("fluent", emulator.url, creds, log=Log())
    token = fc.auth.token()
    fc.close()
    assert len(token) >= 8 and token not in emulator.credentials.values()
    assert redactor.scrub(f"Authorization: Bearer {token}") == "Authorization: Bearer ***"
    assert redactor.scrub(f"an echo cut short: {token[:12]}") == "an echo cut short: ***"
