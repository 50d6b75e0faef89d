"""Resource identifiers: `<type>_<ULID>`, sortable by creation time.

A ULID is 48 bits of milliseconds since the epoch and 80 random bits, in Crockford's base32
(26 characters). They are made here as python-ulid's default generator makes them (strictly
monotonic: within one millisecond the randomness of the previous id plus one), at a fraction
of its cost: `new_id("req")` runs on every request (docs/benchmarks.md). `ulid.ULID` parses them.
"""

import os
import threading
import time

PREFIXES = frozenset(
    {
        "team",
        "cli",
        "proj",
        "site",
        "env",
        "dep",
        "job",
        "key",
        "ks",
        "evt",
        "req",
        "sec",
        "secv",
        "edge",
        "rdv",
    }
)

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Two characters per 10 bits: a ULID's 128 bits (130 with its two leading zero bits) in 13.
_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
_SHIFTS = tuple(range(120, -1, -10))
_MAX_RANDOMNESS = (1 << 80) - 1


def encode(value: int) -> str:
    """A 128-bit ULID value as its 26 characters."""
    pairs = _PAIRS
    return "".join([pairs[value >> shift & 1023] for shift in _SHIFTS])


class _Generator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._millisecond = 0
        self._randomness = 0

    def next(self) -> int:
        millisecond = time.time_ns() // 1_000_000
        with self._lock:
            if millisecond == self._millisecond:
                if self._randomness == _MAX_RANDOMNESS:
                    raise ValueError("Randomness within same millisecond exhausted")
                randomness = self._randomness + 1
            else:
                randomness = int.from_bytes(os.urandom(10), "big")
            self._millisecond, self._randomness = millisecond, randomness
        return millisecond << 80 | randomness


_generator = _Generator()


def new_id(prefix: str) -> str:
    assert prefix in PREFIXES, prefix
    return f"{prefix}_{encode(_generator.next())}"
