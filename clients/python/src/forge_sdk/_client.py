"""`Forge` and `AsyncForge`: the resources, and the one place each sends a request (retries)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import httpx

from forge_sdk import _http
from forge_sdk._endpoints import Async, AsyncPager, Call, Pager, Route, Sync
from forge_sdk._jobs import AsyncJobHandle, JobHandle
from forge_sdk.resources import Resources


class RawData(dict[str, Any]):
    """An object exactly as the API sent it (`raw_data=True`), with its response's metadata."""

    request_id: str | None = None
    etag: str | None = None


class _Common:
    def __init__(
        self,
        token: str | None,
        base_url: str | None,
        *,
        max_retries: int,
        timeout: float,
        backoff: float,
        raw_data: bool,
    ) -> None:
        self._settings = _http.Settings.resolve(
            token, base_url, max_retries=max_retries, timeout=timeout, backoff=backoff
        )
        self._raw_data = raw_data

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    def _client_options(self) -> dict[str, Any]:
        settings = self._settings
        return {
            "base_url": settings.base_url,
            "headers": settings.headers(),
            "timeout": httpx.Timeout(settings.timeout, connect=min(5.0, settings.timeout)),
        }

    def _prepare(self, route: Route, call: Call[Any]) -> _http.Request:
        headers = dict(call.headers or {})
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        return _http.Request(
            route.method,
            route.url(call.path),
            params=dict(call.params) if call.params else None,
            json=call.body if call.has_body else None,
            has_body=call.has_body,
            headers=headers,
            timeout=call.timeout,
        )

    def _decode(self, model: str | None, data: Any, answer: _http.Answer | None) -> Any:
        if self._raw_data or model is None:
            if isinstance(data, dict):
                raw = RawData(data)
                if answer is not None:
                    raw.request_id, raw.etag = answer.request_id, answer.headers.get("etag")
                return raw
            return data
        from forge_sdk import models  # pydantic is loaded on the first typed answer only

        return models.build(model, data, answer)

    def _page_call(self, call: Call[Any], after: str | None) -> Call[Any]:
        return replace(call, params={**(call.params or {}), "starting_after": after})


async def _async_sleep(seconds: float) -> None:
    import asyncio  # not at import time: a synchronous program never needs the event loop

    await asyncio.sleep(seconds)


def _any_route(
    method: str,
    path: str,
    params: Mapping[str, Any] | None,
    json: Any,
    headers: Mapping[str, str] | None,
) -> _http.Request:
    return _http.Request(
        method.upper(),
        path,
        params=dict(params) if params else None,
        json=json,
        has_body=json is not None,
        headers=dict(headers or {}),
    )


def _data(answer: _http.Answer) -> Any:
    body = answer.body
    return body["data"] if isinstance(body, Mapping) and "data" in body else body


def _page(answer: _http.Answer) -> tuple[list[Any], bool]:
    return list(answer.body["data"]), bool(answer.body.get("has_more"))


class Forge(_Common, Resources[Sync]):
    """The synchronous client. `token` defaults to `FORGE_TOKEN`, `base_url` to `FORGE_API_URL`.

    Every `POST` carries an `Idempotency-Key` (yours, or a generated one) that its retries reuse.
    Connection errors, `409 idempotency_in_progress`, `429` (after `Retry-After`) and `5xx` are
    retried up to `max_retries` times with exponential backoff and jitter.
    """

    def __init__(
        self,
        token: str | None = None,
        base_url: str | None = None,
        *,
        max_retries: int = 2,
        timeout: float = _http.DEFAULT_TIMEOUT,
        backoff: float = 0.5,
        raw_data: bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            token,
            base_url,
            max_retries=max_retries,
            timeout=timeout,
            backoff=backoff,
            raw_data=raw_data,
        )
        if transport is None:
            transport = httpx.HTTPTransport(verify=self._settings.tls(), retries=0)
        self._http = httpx.Client(transport=transport, **self._client_options())
        Resources.__init__(self, self)

    def __enter__(self) -> Forge:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> _http.Answer:
        """Any route, with the same authentication, retries and errors (like `gh api`)."""
        return self._send(_any_route(method, path, params, json, headers))

    def _send(self, request: _http.Request) -> _http.Answer:
        attempt = 0
        while True:
            outcome: httpx.Response | Exception
            try:
                outcome = self._http.request(
                    request.method, request.path, **request.kwargs(self._settings)
                )
            except httpx.TransportError as exc:
                outcome = exc
            delay = _http.retry_delay(self._settings, attempt, outcome)
            if delay is None:
                return _http.conclude(outcome)
            attempt += 1
            time.sleep(delay)

    # The runner protocol used by the resources' endpoints.
    def one(self, route: Route, call: Call[Any]) -> Any:
        answer = self._send(self._prepare(route, call))
        return self._decode(route.model, _data(answer), answer)

    def paged(self, route: Route, call: Call[Any]) -> Pager[Any]:
        def fetch(after: str | None) -> tuple[list[Any], bool]:
            return _page(self._send(self._prepare(route, self._page_call(call, after))))

        return Pager(fetch, route.cursor, lambda item: self._decode(route.model, item, None))

    def queued(self, route: Route, call: Call[Any]) -> JobHandle:
        return JobHandle(self, self.one(route, call))


class AsyncForge(_Common, Resources[Async]):
    """The asyncio client: the same resources and methods as `Forge`, each awaitable."""

    def __init__(
        self,
        token: str | None = None,
        base_url: str | None = None,
        *,
        max_retries: int = 2,
        timeout: float = _http.DEFAULT_TIMEOUT,
        backoff: float = 0.5,
        raw_data: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            token,
            base_url,
            max_retries=max_retries,
            timeout=timeout,
            backoff=backoff,
            raw_data=raw_data,
        )
        if transport is None:
            transport = httpx.AsyncHTTPTransport(verify=self._settings.tls(), retries=0)
        self._http = httpx.AsyncClient(transport=transport, **self._client_options())
        Resources.__init__(self, self)

    async def __aenter__(self) -> AsyncForge:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> _http.Answer:
        """Any route, with the same authentication, retries and errors."""
        return await self._send(_any_route(method, path, params, json, headers))

    async def _send(self, request: _http.Request) -> _http.Answer:
        attempt = 0
        while True:
            outcome: httpx.Response | Exception
            try:
                outcome = await self._http.request(
                    request.method, request.path, **request.kwargs(self._settings)
                )
            except httpx.TransportError as exc:
                outcome = exc
            delay = _http.retry_delay(self._settings, attempt, outcome)
            if delay is None:
                return _http.conclude(outcome)
            attempt += 1
            await _async_sleep(delay)

    async def one(self, route: Route, call: Call[Any]) -> Any:
        answer = await self._send(self._prepare(route, call))
        return self._decode(route.model, _data(answer), answer)

    def paged(self, route: Route, call: Call[Any]) -> AsyncPager[Any]:
        async def fetch(after: str | None) -> tuple[list[Any], bool]:
            return _page(await self._send(self._prepare(route, self._page_call(call, after))))

        return AsyncPager(fetch, route.cursor, lambda item: self._decode(route.model, item, None))

    async def queued(self, route: Route, call: Call[Any]) -> AsyncJobHandle:
        return AsyncJobHandle(self, await self.one(route, call))
