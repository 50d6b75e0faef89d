"""The cache key (documented in docs/edge.md, "The cache key") and its hash.

    method class  GET (GET and HEAD share entries)
    host          the request's Host, lower-case, without a port
    target        path and query string exactly as requested (query order kept)
    variant       for each request header the stored response names in Vary, in the order
                  it names them: `name:value` (name lower-case, value as sent, "" if absent)

The hash is BLAKE2b (16 bytes) of those fields joined by newlines; its 32 hex digits are the
`Forge-Cache-Hash` response header, and what a purge's `cache_hashes` names.
"""

from __future__ import annotations

from hashlib import blake2b

METHOD_CLASS = b"GET"


def primary_key(host: bytes, target: bytes) -> bytes:
    """The key without its Vary part (the whole key for a response without Vary)."""
    return METHOD_CLASS + b"\n" + host + b"\n" + target


def variant_key(primary: bytes, names: tuple[str, ...], headers: dict[bytes, bytes]) -> bytes:
    parts = [primary]
    for name in names:
        encoded = name.encode()
        parts.append(encoded + b":" + headers.get(encoded, b""))
    return b"\n".join(parts)


def digest(key: bytes) -> bytes:
    return blake2b(key, digest_size=16).digest()
