"""Deterministic identifiers and the run's start time."""

import hashlib
import uuid

import pytest

from engine.contracts import ResolverOptions
from engine.errors import ConfigError, DataError

CONTEXT = {"run_id": "run-1", "run_started": "2025-01-05T10:00:00.123456Z"}


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (None, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("md5", "abc", "900150983cd24fb0d6963f7d28e17f72"),
        ("sha1", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ({"algorithm": "sha512"}, "", hashlib.sha512(b"").hexdigest()),
        (None, "é", hashlib.sha256("é".encode()).hexdigest()),  # UTF-8 bytes
        (None, 5, hashlib.sha256(b"5").hexdigest()),  # the text JSON writes
        (None, 2.0, hashlib.sha256(b"2").hexdigest()),
        (None, True, hashlib.sha256(b"true").hexdigest()),
        (None, ["a"], DataError("expected text, found a list")),
    ],
)
def test_hash(run, args, value, expected):
    run("hash", args, value, expected)


@pytest.mark.parametrize(
    "args,value,expected",
    [
        ("url", "abc", str(uuid.uuid5(uuid.NAMESPACE_URL, "abc"))),
        ("DNS", "example.com", "cfbff0d1-9375-5685-968c-48ce8b15ae17"),
        ("oid", "1.2", str(uuid.uuid5(uuid.NAMESPACE_OID, "1.2"))),
        ("x500", "cn=x", str(uuid.uuid5(uuid.NAMESPACE_X500, "cn=x"))),
        ("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "abc", str(uuid.uuid5(uuid.NAMESPACE_DNS, "abc"))),
        ("url", 42, str(uuid.uuid5(uuid.NAMESPACE_URL, "42"))),
        ("url", "", str(uuid.uuid5(uuid.NAMESPACE_URL, ""))),
        ("url", {"a": 1}, DataError("expected text, found an object")),
    ],
)
def test_uuid5(run, args, value, expected):
    run("uuid5", args, value, expected)


def test_uuid5_bad_namespace_is_a_config_error(resolve):
    with pytest.raises(ConfigError, match="namespace 'web' is neither a UUID nor one of dns, url, oid, x500"):
        resolve("uuid5", "web")


@pytest.mark.parametrize(
    "args,value,expected",
    [
        (None, None, "2025-01-05T10:00:00.123456Z"),
        (None, "ignored", "2025-01-05T10:00:00.123456Z"),
        ("%Y-%m-%d %H:%M", None, "2025-01-05 10:00"),
        ("epoch_millis", None, 1736071200123),
        ("epoch_seconds", None, 1736071200),
        ({"timezone": "Europe/Paris"}, None, "2025-01-05T11:00:00.123456+01:00"),
    ],
)
def test_now(run, args, value, expected):
    run("now", args, value, expected, context=CONTEXT)


def test_now_uses_the_mapping_time_zone(run):
    run(
        "now",
        None,
        None,
        "2025-01-05T05:00:00.123456-05:00",
        options=ResolverOptions(timezone="America/New_York"),
        context=CONTEXT,
    )


@pytest.mark.parametrize(
    "context,message",
    [
        ({"run_id": "x"}, "the run's start time (run_started) is not in the context"),
        ({"run_started": "soon"}, "the run's start time 'soon' is not an ISO 8601 time"),
    ],
)
def test_now_needs_the_run_start(run, context, message):
    run("now", None, None, DataError(message), context=context)


def test_now_is_the_same_for_every_record(resolve):
    fn = resolve("now")
    assert fn(None, {"a": 1}, CONTEXT) == fn(None, {"a": 2}, CONTEXT)
