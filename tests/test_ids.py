"""`forge.ids`: ULIDs as python-ulid makes them, strictly monotonic, parsed by it."""

from __future__ import annotations

import os
import time

import pytest
from ulid import ULID

from forge import ids


def test_encode_is_the_ulid_text_of_the_value() -> None:
    for _ in range(500):
        raw = os.urandom(16)
        assert ids.encode(int.from_bytes(raw, "big")) == str(ULID.from_bytes(raw))
    assert ids.encode(0) == "0" * 26
    assert ids.encode((1 << 128) - 1) == "7" + "Z" * 25


def test_an_id_is_its_prefix_and_a_ulid_of_now() -> None:
    before = time.time()
    prefix, _, text = ids.new_id("req").partition("_")
    assert prefix == "req" and len(text) == 26
    assert before - 0.002 <= ULID.from_str(text).timestamp <= time.time() + 0.002


def test_ids_are_unique_and_sorted_within_a_millisecond() -> None:
    made = [ids.new_id("evt") for _ in range(20_000)]
    assert len(set(made)) == len(made)
    assert made == sorted(made)


def test_an_unknown_prefix_is_refused() -> None:
    with pytest.raises(AssertionError):
        ids.new_id("nope")
