"""The key format: `<family>_<mode>_<30 base62 random><6 base62 CRC32>`.

30 base62 characters carry ~178 bits of randomness. The 6-character checksum is the CRC32 of
the random part, base62-encoded and left-padded with `0`, so a scanner (or this server, before
any database look-up) can reject a look-alike offline.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from dataclasses import dataclass

from forge.errors import AuthenticationFailed

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 30
CHECKSUM_LENGTH = 6
PREFIX_CHARS = 4  # random characters shown in a key's public prefix

FAMILY_PERSONAL = "mfk"
FAMILY_SERVICE = "mfs"
OAUTH_PREFIXES = ("mfo_at_", "mfo_rt_")

_TOKEN = re.compile(r"^(mfk|mfs)_(live|test)_([0-9A-Za-z]{30})([0-9A-Za-z]{6})$")


@dataclass(frozen=True)
class ParsedToken:
    family: str
    mode: str
    secret_hash: str


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(random_part: str) -> str:
    return _base62(zlib.crc32(random_part.encode()), CHECKSUM_LENGTH)


def hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def family_of(owner_type: str) -> str:
    """The one rule: a key a client owns is personal (mfk_), one a team owns a service token."""
    return FAMILY_PERSONAL if owner_type == "client" else FAMILY_SERVICE


def generate(family: str, mode: str) -> str:
    random_part = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return f"{family}_{mode}_{random_part}{checksum(random_part)}"


def public_prefix(token: str) -> str:
    """`mfk_live_b1c4`: family, mode and the first random characters; safe to show and log."""
    family, mode, rest = token.split("_", 2)
    return f"{family}_{mode}_{rest[:PREFIX_CHARS]}"


def parse(token: str) -> ParsedToken:
    """Validate shape and checksum without touching storage; raise 401 for anything else.
    A token validated before is known by its hash: the memo holds hashes (the database's own
    look-up values) and what they parsed to, never a secret."""
    if len(token) == _LENGTH:
        known = _valid_by_hash.get(hash_secret(token))
        if known is not None:
            return known
    parsed = _parse(token)
    if len(_valid_by_hash) >= _MEMO_SIZE:  # a flood of distinct keys: forget, never grow
        _valid_by_hash.clear()
    _valid_by_hash[parsed.secret_hash] = parsed
    return parsed


_LENGTH = len("mfk_live_") + RANDOM_LENGTH + CHECKSUM_LENGTH  # every token `_TOKEN` matches
_MEMO_SIZE = 10_000
_valid_by_hash: dict[str, ParsedToken] = {}


def _parse(token: str) -> ParsedToken:
    if token.startswith(OAUTH_PREFIXES):
        raise AuthenticationFailed(
            "OAuth tokens (mfo_at_/mfo_rt_) are not supported yet; use a personal key (mfk_) "
            "or a service token (mfs_)."
        )
    match = _TOKEN.match(token)
    if match is None:
        raise AuthenticationFailed("The API key is malformed.")
    family, mode, random_part, given = match.groups()
    if not secrets.compare_digest(checksum(random_part), given):
        raise AuthenticationFailed("The API key is malformed (checksum mismatch).")
    return ParsedToken(family=family, mode=mode, secret_hash=hash_secret(token))
