"""Drive `Forge` and `AsyncForge` through the same test bodies, over a live server or the ASGI
app, with a transport in front that records every attempt and can fail the first few."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from forge_sdk import AsyncForge, Forge

# One scripted attempt: an exception to raise, a (status, headers, JSON body) answer, or a
# function making the answer from the request.
Answer = tuple[int, dict[str, str], Any]
Step = Exception | Answer | Callable[[httpx.Request], Answer]


@dataclass
class Script:
    """What the transport does before it lets requests through, and what it saw."""

    steps: list[Step] = field(default_factory=list)
    seen: list[httpx.Request] = field(default_factory=list)

    def next(self, request: httpx.Request) -> httpx.Response | None:
        self.seen.append(request)
        if not self.steps:
            return None
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        status, headers, body = step(request) if callable(step) else step
        return httpx.Response(status, headers=headers, json=body, request=request)


class SyncScripted(httpx.BaseTransport):
    def __init__(self, script: Script, inner: httpx.BaseTransport) -> None:
        self.script, self.inner = script, inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.script.next(request) or self.inner.handle_request(request)


class AsyncScripted(httpx.AsyncBaseTransport):
    def __init__(self, script: Script, inner: httpx.AsyncBaseTransport) -> None:
        self.script, self.inner = script, inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.script.next(request) or await self.inner.handle_async_request(request)


class Sdk:
    """A client of one flavour; `do(lambda c: c.sites.get(x))` answers whatever the flavour."""

    def __init__(self, flavour: str, token: str, url: str, app: Any, **options: Any) -> None:
        self.flavour = flavour
        self.script = Script()
        self.loop = asyncio.new_event_loop()
        options.setdefault("backoff", 0.01)
        self.client: Forge | AsyncForge
        if flavour == "sync-live":
            inner = httpx.HTTPTransport()
            self.client = Forge(token, url, transport=SyncScripted(self.script, inner), **options)
        else:
            async_inner: httpx.AsyncBaseTransport = (
                httpx.ASGITransport(app=app)
                if flavour == "async-asgi"
                else httpx.AsyncHTTPTransport()
            )
            base = "http://forge.test" if flavour == "async-asgi" else url
            self.client = AsyncForge(
                token, base, transport=AsyncScripted(self.script, async_inner), **options
            )

    def do(self, call: Callable[[Any], Any]) -> Any:
        result = call(self.client)
        if inspect.isawaitable(result):
            return self.loop.run_until_complete(result)
        return result

    def all(self, call: Callable[[Any], Any]) -> list[Any]:
        pager = call(self.client)
        if hasattr(pager, "__aiter__"):

            async def collect() -> list[Any]:
                return [item async for item in pager]

            return self.loop.run_until_complete(collect())
        return list(pager)

    def close(self) -> None:
        if isinstance(self.client, AsyncForge):
            self.loop.run_until_complete(self.client.aclose())
        else:
            self.client.close()
        self.loop.close()
