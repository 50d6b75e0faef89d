"""Which declared path a request path is, and the methods that path has.

Starlette takes the first route whose template matches with the request's method, so `PATCH
/v1/api-keys/self` would reach `/v1/api-keys/{id}` as the key "self", and a 405 there listed
the methods of both templates. A request path belongs to the most specific template that
matches it (left to right, a literal segment before a parameter): `/v1/api-keys/self` is `GET`
only, `…/secrets/compare` `GET`, `…/secrets/import` `POST`; any other method there is a 405
whose `Allow` lists exactly those (HEAD with GET).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path


@dataclass(frozen=True)
class Template:
    path: str
    regex: re.Pattern[str]
    methods: frozenset[str]

    @property
    def rank(self) -> tuple[bool, ...]:
        """Sorts the more specific first: a literal segment (False) before a parameter."""
        return tuple(segment.startswith("{") for segment in self.path.split("/"))


class PathTable:
    """Every route's full template, built once per app from its routes."""

    def __init__(self, app: FastAPI) -> None:
        methods: dict[str, set[str]] = {}
        self._template_of_route: dict[int, str] = {}
        for context in iter_route_contexts(app.routes):
            if context.path is None:
                continue
            methods.setdefault(context.path, set()).update(context.methods or ())
            self._template_of_route[id(context.original_route)] = context.path
        self._templates = sorted(
            (
                Template(path, compile_path(path)[0], frozenset(_with_head(declared)))
                for path, declared in methods.items()
            ),
            key=lambda template: template.rank,
        )
        # Per template, the templates before it that could match some path it matches: the
        # only ones that can own a path routed to it (none for most).
        self._before: dict[str, tuple[Template, ...]] = {}
        for index, template in enumerate(self._templates):
            before = tuple(t for t in self._templates[:index] if _overlap(t, template))
            if before:
                self._before[template.path] = before
        self._shadowable = {t.path for t in self._templates if self._has_a_sibling_before(t)}

    def _has_a_sibling_before(self, template: Template) -> bool:
        """Whether a more specific template could match some path this one matches (so a
        request routed to it must be looked up; for any other, none need be)."""
        return any(
            other.rank < template.rank and _overlap(other, template) for other in self._templates
        )

    def owner(self, path: str) -> Template | None:
        return next((t for t in self._templates if t.regex.match(path)), None)

    def allowed(self, path: str) -> list[str]:
        owner = self.owner(path)
        return sorted(owner.methods) if owner is not None else []

    def shadowed(self, route: object, path: str) -> bool:
        """Whether `route` matched a path that belongs to a more specific template."""
        template = self._template_of_route.get(id(route))
        if template not in self._shadowable:
            return False
        # `owner(path)` is not `template` exactly when a template sorted before it matches:
        # one of those that overlap it (a route's path matches its own template). Looking at
        # those alone spares a match against every template of the app on such a route.
        return any(t.regex.match(path) for t in self._before[template])


def _overlap(one: Template, other: Template) -> bool:
    """Whether some path matches both: as many segments, each the same literal or a
    parameter in either. A `{…:path}` parameter spans segments: assume it may."""
    if ":path}" in one.path or ":path}" in other.path:
        return True
    segments, others = one.path.split("/"), other.path.split("/")
    return len(segments) == len(others) and all(
        a == b or a.startswith("{") or b.startswith("{")
        for a, b in zip(segments, others, strict=True)
    )


def _with_head(methods: set[str]) -> set[str]:
    return methods | ({"HEAD"} if "GET" in methods else set())


def table_of(app: FastAPI) -> PathTable:
    table: PathTable | None = getattr(app.state, "path_table", None)
    if table is None:  # built on first use: every router is included by then
        table = app.state.path_table = PathTable(app)
    return table
