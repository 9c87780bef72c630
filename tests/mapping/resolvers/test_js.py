"""Properties of the JavaScript rules the sdk.* resolvers stand on."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from engine.mapping.resolvers import _js


@given(st.integers(min_value=-_js.MAX_TIME, max_value=_js.MAX_TIME))
def test_iso_strings_read_back_to_the_same_time(ms):
    text = _js.iso_string(ms)
    assert _js.parse_date(text, None) == (ms, True)


@given(st.integers(min_value=-1000 * 86_400_000, max_value=20_000 * 86_400_000))
def test_iso_strings_agree_with_python_where_both_exist(ms):
    expected = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)
    assert _js.iso_string(ms) == expected.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_strings_read_back_to_the_same_number(x):
    text = _js.number_str(x)
    assert float(text) == x
    assert "e" not in text or abs(x) >= 1e21 or abs(x) < 1e-6


@given(st.integers(min_value=-(10**30), max_value=10**30), st.text(alphabet="abc.e ", max_size=5))
def test_parse_int_reads_the_integer_prefix(n, tail):
    assert _js.parse_int(f"  {n}{tail}") == n


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_parse_float_reads_what_string_writes(x):
    assert _js.parse_float(_js.number_str(x)) == x
