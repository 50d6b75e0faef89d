"""Each API operation is declared once — its route, its model, how arguments become a request —
and the same declaration serves `Forge` (answers) and `AsyncForge` (awaitables).

A resource method is decorated with `one`, `paged` or `queued`; the descriptor hands back a
callable bound to the client's runner. The route table (`ROUTES`) is what the OpenAPI
comparison test checks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import quote

if TYPE_CHECKING:
    from forge_sdk._jobs import AsyncJobHandle, JobHandle

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M")

_NO_BODY: Any = object()


class Sync:
    """Marks a resource bound to `Forge`."""


class Async:
    """Marks a resource bound to `AsyncForge`."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # a template: "/v1/sites/{site}"
    model: str | None  # a class of forge_sdk.models; None: the body's data as it is
    kind: str  # "one", "paged" or "queued"
    cursor: str = "id"  # the item field that `starting_after` takes, for lists

    def url(self, values: Mapping[str, str | int]) -> str:
        return self.path.format_map({k: _segment(k, v) for k, v in values.items()})


def _segment(name: str, value: str | int) -> str:
    text = str(value)
    # An empty or dot segment would silently address another route ("/v1/sites/" lists).
    if text in ("", ".", ".."):
        raise ValueError(f"{name} must be an id or a name, not {text!r}")
    return quote(text, safe="")


@dataclass(frozen=True)
class Call(Generic[T]):
    """What one invocation adds to its route. `T` is the answer's model (for type checkers)."""

    path: Mapping[str, str | int] = field(default_factory=dict)
    params: Mapping[str, Any] | None = None
    body: Any = _NO_BODY
    headers: Mapping[str, str] | None = None
    idempotency_key: str | None = None
    timeout: float | None = None

    @property
    def has_body(self) -> bool:
        return self.body is not _NO_BODY


ROUTES: list[Route] = []


class Resource(Generic[M]):
    """One API area. `M` is `Sync` or `Async`, which decides what its methods return."""

    def __init__(self, runner: Any) -> None:
        self._runner = runner


Build = Callable[Concatenate[Any, P], Call[T]]


class _Endpoint(Generic[P, T]):
    kind = ""

    def __init__(self, method: str, path: str, model: str | None, cursor: str, build: Any):
        self.route = Route(method, path, model, self.kind, cursor)
        self.build = build
        ROUTES.append(self.route)

    def bind(self, obj: Resource[Any]) -> Callable[..., Any]:
        run = getattr(obj._runner, self.kind)

        def invoke(*args: Any, **kwargs: Any) -> Any:
            return run(self.route, self.build(obj, *args, **kwargs))

        invoke.__doc__ = self.build.__doc__
        invoke.__name__ = self.build.__name__
        return invoke


class One(_Endpoint[P, T]):
    kind = "one"

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> One[P, T]: ...
    @overload
    def __get__(self, obj: Resource[Sync], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: Resource[Async], owner: type[Any]) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        return self if obj is None else self.bind(obj)


class Paged(_Endpoint[P, T]):
    kind = "paged"

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Paged[P, T]: ...
    @overload
    def __get__(self, obj: Resource[Sync], owner: type[Any]) -> Callable[P, Pager[T]]: ...
    @overload
    def __get__(self, obj: Resource[Async], owner: type[Any]) -> Callable[P, AsyncPager[T]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        return self if obj is None else self.bind(obj)


class Queued(_Endpoint[P, T]):
    """An operation answered `202` with a job: the caller gets a handle it can `wait()` on."""

    kind = "queued"

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Queued[P, T]: ...
    @overload
    def __get__(self, obj: Resource[Sync], owner: type[Any]) -> Callable[P, JobHandle]: ...
    @overload
    def __get__(
        self, obj: Resource[Async], owner: type[Any]
    ) -> Callable[P, Awaitable[AsyncJobHandle]]: ...
    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        return self if obj is None else self.bind(obj)


def one(method: str, path: str, model: str | None) -> Callable[[Build[P, T]], One[P, T]]:
    return lambda build: One(method, path, model, "id", build)


def paged(path: str, model: str, *, cursor: str = "id") -> Callable[[Build[P, T]], Paged[P, T]]:
    return lambda build: Paged("GET", path, model, cursor, build)


def queued(method: str, path: str) -> Callable[[Build[P, T]], Queued[P, T]]:
    return lambda build: Queued(method, path, "Job", "id", build)


class Pager(Generic[T]):
    """Every item of a list, fetching the next page only when the previous one is used up."""

    def __init__(
        self,
        fetch: Callable[[str | None], tuple[list[Any], bool]],
        cursor: str,
        decode: Callable[[Any], T],
    ) -> None:
        self._fetch, self._cursor, self._decode = fetch, cursor, decode

    def __iter__(self) -> Iterator[T]:
        after: str | None = None
        while True:
            items, more = self._fetch(after)
            yield from (self._decode(item) for item in items)
            if not more or not items:
                return
            after = str(items[-1][self._cursor])


class AsyncPager(Generic[T]):
    """`async for` over every item of a list, page by page."""

    def __init__(
        self,
        fetch: Callable[[str | None], Awaitable[tuple[list[Any], bool]]],
        cursor: str,
        decode: Callable[[Any], T],
    ) -> None:
        self._fetch, self._cursor, self._decode = fetch, cursor, decode

    async def __aiter__(self) -> AsyncIterator[T]:
        after: str | None = None
        while True:
            items, more = await self._fetch(after)
            for item in items:
                yield self._decode(item)
            if not more or not items:
                return
            after = str(items[-1][self._cursor])
