"""The success envelope `{data, request_id}` and cursor pagination shared by every list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from forge.errors import InvalidRequest
from forge.http.context import current_request_id

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    data: T
    request_id: str = Field(default_factory=current_request_id, examples=["req_01JAD3"])


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    has_more: bool
    request_id: str = Field(default_factory=current_request_id, examples=["req_01JAD3"])


@dataclass(frozen=True)
class PageParams:
    limit: int
    starting_after: str | None


async def _page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size, 1–100.")] = 20,
    starting_after: Annotated[
        str | None,
        Query(max_length=64, description="Cursor: the id of the last item of the previous page."),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, starting_after=starting_after)


Page = Annotated[PageParams, Depends(_page_params)]


def unknown_cursor() -> InvalidRequest:
    return InvalidRequest(
        "starting_after: not an item of this list; pass the last item of the page before.",
        param="starting_after",
    )


def paginate(
    session: Session, stmt: Select[Any], id_column: InstrumentedAttribute[str], page: PageParams
) -> tuple[list[Any], bool]:
    """Newest first; ids are time-ordered ULIDs, so the cursor is simply the last id seen.
    A cursor that is not an item of this very list (unknown, empty, another team's, filtered
    out) is refused, the same on every list, rather than read as a position."""
    if page.starting_after is not None:
        cursor = stmt.with_only_columns(id_column).where(id_column == page.starting_after)
        if session.scalar(cursor.limit(1)) is None:
            raise unknown_cursor()
        stmt = stmt.where(id_column < page.starting_after)
    rows = list(session.scalars(stmt.order_by(id_column.desc()).limit(page.limit + 1)))
    return rows[: page.limit], len(rows) > page.limit
