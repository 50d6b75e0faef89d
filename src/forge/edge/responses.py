"""Bytes the edge sends: heads built once per stored response, and its own short answers."""

from __future__ import annotations

from http import HTTPStatus

VIA = b"1.1 forge-edge"

# Hop-by-hop headers (RFC 9110 §7.6.1) and what the edge sets itself.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_SET_BY_EDGE = frozenset({b"content-length", b"age", b"forge-cache", b"forge-cache-hash"})
_TAG_HEADERS = frozenset({b"surrogate-key", b"cache-tag"})
# What a 304 carries of the stored response (RFC 9110 §15.4.5).
_NOT_MODIFIED_KEEPS = frozenset(
    {
        b"cache-control",
        b"content-location",
        b"date",
        b"etag",
        b"expires",
        b"last-modified",
        b"vary",
        b"via",
        b"forge-cache-hash",
    }
)
NO_BODY_STATUSES = frozenset({204, 304})


def reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b"Unknown"


def connection_listed(headers: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Headers named by `Connection` are hop-by-hop too."""
    named = {
        part.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for part in value.split(b",")
    }
    return frozenset(named)


def forwardable(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """An origin's response headers as the client gets them: hop-by-hop, tag headers and what
    the edge sets itself dropped; `Via` extended."""
    drop = HOP_BY_HOP | _SET_BY_EDGE | _TAG_HEADERS | connection_listed(headers)
    kept: list[tuple[bytes, bytes]] = []
    via: bytes | None = None
    for name, value in headers:
        lower = name.lower()
        if lower in drop:
            continue
        if lower == b"via":
            via = value if via is None else via + b", " + value
            continue
        kept.append((name, value))
    kept.append((b"Via", VIA if via is None else via + b", " + VIA))
    return kept


def head(status: int, headers: list[tuple[bytes, bytes]], *, framing: bytes | None) -> bytes:
    """Status line and headers, without the final blank line. `framing` is the
    Content-Length / Transfer-Encoding line (None: the status has no body)."""
    lines = [b"HTTP/1.1 %d %s" % (status, reason(status))]
    lines.extend(name + b": " + value for name, value in headers)
    if framing is not None:
        lines.append(framing)
    return b"\r\n".join(lines) + b"\r\n"


def content_length(length: int) -> bytes:
    return b"Content-Length: %d" % length


CHUNKED = b"Transfer-Encoding: chunked"


def not_modified(stored_head: bytes) -> bytes:
    """A 304's head from a stored response's head."""
    lines = [b"HTTP/1.1 304 Not Modified"]
    for line in stored_head.split(b"\r\n")[1:]:
        name = line.partition(b":")[0].strip().lower()
        if name in _NOT_MODIFIED_KEEPS:
            lines.append(line)
    return b"\r\n".join(lines) + b"\r\n"


def tail(age: int, label: bytes, keep_alive: bool) -> bytes:
    """The per-response end of a head: Age, Forge-Cache and the blank line."""
    if keep_alive:
        return b"Age: %d\r\nForge-Cache: %s\r\n\r\n" % (age, label)
    return b"Age: %d\r\nForge-Cache: %s\r\nConnection: close\r\n\r\n" % (age, label)


def plain(status: int, text: str, *, label: bytes, keep_alive: bool, extra: bytes = b"") -> bytes:
    """One of the edge's own short answers (421, 502, 504, 400, redirects)."""
    body = text.encode() + b"\n"
    start = b"HTTP/1.1 %d %s\r\n" % (status, reason(status))
    headers = (
        b"Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n"
        + extra
        + b"Via: "
        + VIA
        + b"\r\n"
        + content_length(len(body))
        + b"\r\n"
    )
    return start + headers + tail(0, label, keep_alive) + body
