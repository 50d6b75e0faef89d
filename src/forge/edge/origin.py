"""The edge's way to origins: one pooled HTTP client per origin, the headers it forwards, and
what a failure means for the client (502 unreachable, 504 slow)."""

from __future__ import annotations

import httpx

from forge.edge.responses import HOP_BY_HOP, VIA, connection_listed

# Set by the edge itself: whatever a client sent under these names is not trusted.
_REPLACED = frozenset(
    {
        b"host",
        b"content-length",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"via",
    }
)
_CONDITIONALS = frozenset({b"if-none-match", b"if-modified-since", b"if-match", b"if-range"})


class OriginError(Exception):
    """The origin could not answer: `status` (502 or 504) and a sentence saying which."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def upstream_headers(
    raw: list[tuple[bytes, bytes]],
    *,
    client_ip: str,
    host: bytes,
    drop_conditionals: bool,
) -> list[tuple[bytes, bytes]]:
    drop = HOP_BY_HOP | _REPLACED | connection_listed(raw)
    if drop_conditionals:
        drop |= _CONDITIONALS
    headers = [(name, value) for name, value in raw if name.lower() not in drop]
    vias = [value for name, value in raw if name.lower() == b"via"]
    headers += [
        (b"X-Forwarded-For", client_ip.encode()),
        (b"X-Forwarded-Host", host),
        (b"X-Forwarded-Proto", b"http"),
        (b"Via", b", ".join([*vias, VIA])),
    ]
    return headers


class OriginPool:
    """An `httpx.AsyncClient` (its own connection pool) per origin."""

    def __init__(self, connect_timeout: float, read_timeout: float) -> None:
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._read_timeout = read_timeout
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, origin: httpx.URL) -> httpx.AsyncClient:
        key = f"{origin.scheme}://{origin.netloc.decode()}"
        client = self._clients.get(key)
        if client is None:
            client = httpx.AsyncClient(
                timeout=self._timeout,
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
                follow_redirects=False,
                trust_env=False,
            )
            client.headers.clear()  # forward the client's headers, not httpx's defaults
            self._clients[key] = client
        return client

    async def send(
        self,
        origin_url: str,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> httpx.Response:
        """The origin's response with its body still to be read (`aiter_raw`, then `aclose`)."""
        origin = httpx.URL(origin_url)
        base = origin.raw_path.split(b"?", 1)[0].rstrip(b"/")
        url = origin.copy_with(raw_path=base + target)
        client = self._client(origin)
        request = client.build_request(
            method.decode(), url, headers=headers, content=body if body else None
        )
        try:
            return await client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as err:
            raise OriginError(
                502, f"Bad gateway: the origin is unreachable ({_why(err)})."
            ) from None
        except httpx.TimeoutException:
            raise OriginError(
                504, f"Gateway timeout: the origin did not answer within {self._read_timeout:g} s."
            ) from None
        except httpx.HTTPError as err:
            raise OriginError(
                502, f"Bad gateway: the origin's answer was broken ({_why(err)})."
            ) from None

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def _why(err: Exception) -> str:
    text = str(err).strip() or type(err).__name__
    return text[:200]
