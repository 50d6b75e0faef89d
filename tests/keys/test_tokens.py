"""The key format: families, modes, ≥160 random bits, a CRC32 checksum, a public prefix."""

from __future__ import annotations

import math
import re
import zlib

import pytest

from forge.errors import AuthenticationFailed
from forge.keys import tokens

FORMAT = re.compile(r"^(mfk|mfs)_(live|test)_[0-9A-Za-z]{36}$")


@pytest.mark.parametrize("family", ["mfk", "mfs"])
@pytest.mark.parametrize("mode", ["live", "test"])
def test_generated_keys_have_the_documented_shape(family: str, mode: str) -> None:
    token = tokens.generate(family, mode)
    assert FORMAT.match(token)
    assert token.startswith(f"{family}_{mode}_")
    assert tokens.parse(token).family == family and tokens.parse(token).mode == mode


def test_the_random_part_carries_at_least_160_bits() -> None:
    assert tokens.RANDOM_LENGTH * math.log2(len(tokens.ALPHABET)) >= 160
    samples = {tokens.generate("mfk", "live") for _ in range(200)}
    assert len(samples) == 200


def test_the_checksum_is_the_crc32_of_the_random_part() -> None:
    token = tokens.generate("mfs", "live")
    random_part, given = token[9:39], token[39:]
    number = 0
    for char in given:
        number = number * 62 + tokens.ALPHABET.index(char)
    assert number == zlib.crc32(random_part.encode())


def test_a_look_alike_fails_the_checksum_offline() -> None:
    token = tokens.generate("mfk", "test")
    forged = token[:15] + ("a" if token[15] != "a" else "b") + token[16:]
    with pytest.raises(AuthenticationFailed, match="checksum"):
        tokens.parse(forged)


def test_the_public_prefix_is_family_mode_and_four_characters() -> None:
    token = tokens.generate("mfk", "live")
    assert tokens.public_prefix(token) == token[:13]
    assert tokens.public_prefix(token).startswith("mfk_live_")


def test_only_a_sha256_of_the_secret_is_derived_for_storage() -> None:
    token = tokens.generate("mfk", "live")
    digest = tokens.parse(token).secret_hash
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert token not in digest


@pytest.mark.parametrize("token", ["mfo_at_x", "mfo_rt_y"])
def test_oauth_prefixes_are_recognised(token: str) -> None:
    with pytest.raises(AuthenticationFailed, match="not supported yet"):
        tokens.parse(token)
