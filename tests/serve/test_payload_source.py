"""The payload source: one body, its exact bytes, headers without credentials."""

from __future__ import annotations

import pytest

from engine.errors import SourceError
from engine.sources.payload import Payload, PayloadOptions, PayloadSource, safe_headers


@pytest.mark.parametrize(
    "name,kept",
    [
        ("Content-Type", True),
        ("X-Request-Id", True),
        ("User-Agent", True),
        ("Authorization", False),
        ("Proxy-Authorization", False),
        ("Cookie", False),
        ("fluent-signature", False),
        ("X-Fluent-Signature", False),
        ("flex.signature", False),
        ("x-api-key", False),
        ("X-Api_Key", False),
        ("apikey", False),
        ("x-auth-token", False),
        ("x-webhook-secret", False),
        ("x-hub-signature-256", False),
    ],
)
def test_credentials_never_reach_the_item(name, kept):
    assert (name.lower() in safe_headers({name: "value"})) is kept


def test_a_configured_auth_header_is_dropped_too():
    assert safe_headers({"X-Marketplace-Key": "s", "x-other": "o"}, also=("x-marketplace-key",)) == {
        "x-other": "o"
    }


def test_one_item_with_the_exact_bytes():
    source = PayloadSource(PayloadOptions(), path="source")
    body = b'{"a": 1,   "b": "\xc3\xbc"}'
    source.deliver(Payload(body, id="r1", ext="json", headers={"Fluent-Signature": "sig", "X-Trace": "t"}))
    [item] = list(source.items(None))  # type: ignore[arg-type]
    assert (item.uri, item.name, item.size) == ("payload://r1", "payload-r1.json", len(body))
    assert item.meta["headers"] == {"x-trace": "t"}
    assert source.read(item).read() == body
    assert source.stats() == {"payload_bytes": len(body)}
    source.close()
    source.close()


def test_without_a_body_it_says_how_to_give_one():
    source = PayloadSource(PayloadOptions(), path="source")
    with pytest.raises(SourceError) as info:
        list(source.items(None))  # type: ignore[arg-type]
    assert "engine run SPEC --payload FILE" in str(info.value)
