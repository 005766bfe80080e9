"""Storage options that configure lakehouse itself are parsed strictly: a typo is an error,
never a silent False (fsync="ture" must not turn durability off)."""

import pytest
from hypothesis import given, settings, strategies as st

import lakehouse
from lakehouse.io import Store
from lakehouse.io.options import FALSE_WORDS, TRUE_WORDS, truthy


@pytest.mark.parametrize("option", ["fsync", "unsafe_single_writer"])
@pytest.mark.parametrize("value", ["ture", "maybe", "", "2", 2, None, 0.5, [], "yes please"])
def test_unrecognised_booleans_are_refused(local_uri, option, value):
    with pytest.raises(lakehouse.InvalidArgumentError) as e:
        Store.from_uri(local_uri, {option: value})
    assert option in str(e.value) and "true" in str(e.value) and "false" in str(e.value)


@pytest.mark.parametrize("value, expected", [(True, True), (False, False), (1, True), (0, False),
                                             (" TRUE ", True), ("Off", False), ("yes", True), ("0", False)])
def test_recognised_booleans(value, expected):
    assert truthy(value, name="fsync") is expected


@given(st.text(max_size=8))
@settings(max_examples=200, deadline=None)
def test_any_string_is_a_word_or_refused(text):
    word = text.strip().lower()
    if word in TRUE_WORDS | FALSE_WORDS:
        assert truthy(text, name="x") is (word in TRUE_WORDS)
    else:
        with pytest.raises(lakehouse.InvalidArgumentError):
            truthy(text, name="x")


@pytest.mark.parametrize("value", ["many", 0, -1, 1.5, True, None])
def test_bad_retry_counts_are_refused(local_uri, value):
    with pytest.raises(lakehouse.InvalidArgumentError, match="max_io_retries"):
        Store.from_uri(local_uri, {"max_io_retries": value})


@pytest.mark.parametrize("uri", ["", "   "])
def test_an_empty_uri_is_refused_not_the_current_folder(uri):
    with pytest.raises(lakehouse.InvalidArgumentError, match="empty"):
        lakehouse.open_table(uri)
