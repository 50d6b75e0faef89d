"""Idempotency keys (Stripe's rules): remember a POST's outcome per caller for 24 hours.

A record is claimed (inserted, unique per caller and key) before the route runs, so two racing
identical requests produce one resource: the loser finds the claim and gets 409. The route's
outcome is written into the same transaction as the route's own work. No HTTP here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from forge.driver import DriverSQL, Reads, as_datetime, as_json
from forge.errors import IdempotencyInProgress, IdempotencyKeyReused, InvalidRequest
from forge.idempotency.models import IdempotencyRecord
from forge.principal import Principal

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Printable ASCII; the OpenAPI document declares this very pattern and length.
KEY_PATTERN = "^[ -~]+$"
_KEY = re.compile(KEY_PATTERN)
RETENTION = timedelta(hours=24)
# A claim still "running" after this long belongs to a process that died: it can be retaken.
ABANDONED_AFTER = timedelta(seconds=60)
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class Caller:
    """Whose keys these are: a client (personal keys) or the team (service tokens), per mode."""

    team_id: str
    owner_id: str
    mode: str

    @classmethod
    def of(cls, principal: Principal) -> Caller:
        return cls(principal.team_id, principal.client_id or principal.team_id, principal.mode)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def checked_key(raw: str) -> str:
    if len(raw) > MAX_KEY_LENGTH or not _KEY.fullmatch(raw):
        raise InvalidRequest(
            f"{HEADER} must be 1–{MAX_KEY_LENGTH} printable ASCII characters.", param=HEADER
        )
    return raw


def fingerprint(method: str, target: str, body: bytes) -> str:
    """SHA-256 of the method, path with query, and body (JSON key order does not matter)."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    return hashlib.sha256(b"\0".join((method.encode(), target.encode(), canonical))).hexdigest()


def without_secret(body: bytes) -> str:
    """The body to store: a key's secret (`data.secret`, revealed once by create and roll) is
    dropped, so the store never holds one and a replay never reveals it."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")
    data = document.get("data") if isinstance(document, dict) else None
    if isinstance(data, dict):
        data.pop("secret", None)
    return orjson.dumps(document).decode()


def _void(state: str, locked_at: datetime, expires_at: datetime, now: datetime) -> bool:
    return expires_at <= now or (state == "running" and locked_at <= now - ABANDONED_AFTER)


def _answer(
    state: str, stored_fingerprint: str, wanted: str, response: StoredResponse | None
) -> StoredResponse:
    if stored_fingerprint != wanted:
        raise IdempotencyKeyReused(
            f"This {HEADER} was used for a different request (method, path or body) in the "
            "last 24 hours; use a new key for a new request.",
            param=HEADER,
        )
    if state != "done" or response is None:
        raise _in_progress()
    return response


def _in_progress() -> IdempotencyInProgress:
    return IdempotencyInProgress(
        f"A request with this {HEADER} is still running; retry it unchanged shortly.",
        param=HEADER,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


_LOOKUP = DriverSQL(
    "SELECT fingerprint, state, locked_at, expires_at, response_status, response_headers,"
    " response_body FROM idempotency_records"
    " WHERE team_id = ? AND owner_id = ? AND mode = ? AND key = ?"
)


def stored_answer(
    reads: Reads, caller: Caller, key: str, wanted: str, now: datetime
) -> StoredResponse | None:
    """The stored response to replay, or None when this key is free (never used, expired or
    abandoned). Raises 422 for a different request, 409 while the first is running."""
    row = reads.fetch_one(_LOOKUP, (caller.team_id, caller.owner_id, caller.mode, key))
    if row is None:
        return None
    stored_fp, state, locked_at, expires_at, status, headers, body = row
    if _void(state, as_datetime(locked_at) or now, as_datetime(expires_at) or now, now):
        return None
    response = (
        StoredResponse(status, as_json(headers) or {}, body.encode()) if state == "done" else None
    )
    return _answer(state, stored_fp, wanted, response)


def _record_id(caller: Caller, key: str) -> tuple[str, str, str, str]:
    return (caller.team_id, caller.owner_id, caller.mode, key)


def _identified(caller: Caller, key: str) -> tuple[Any, ...]:
    return (
        IdempotencyRecord.team_id == caller.team_id,
        IdempotencyRecord.owner_id == caller.owner_id,
        IdempotencyRecord.mode == caller.mode,
        IdempotencyRecord.key == key,
    )


def claim(
    session: Session, caller: Caller, key: str, wanted: str, now: datetime
) -> StoredResponse | None:
    """Claim the key for this request (None: go ahead, run the route). A record already there
    answers as in `stored_answer`; a void one is taken over, by one request only."""
    try:
        with session.begin_nested():
            session.add(
                IdempotencyRecord(
                    team_id=caller.team_id,
                    owner_id=caller.owner_id,
                    mode=caller.mode,
                    key=key,
                    fingerprint=wanted,
                    state="running",
                    locked_at=now,
                    expires_at=now + RETENTION,
                )
            )
        return None
    except IntegrityError:
        pass
    record = session.get(IdempotencyRecord, _record_id(caller, key), populate_existing=True)
    if record is None:  # swept between the insert and the read: the next try wins or answers
        return claim(session, caller, key, wanted, now)
    if _void(record.state, record.locked_at, record.expires_at, now):
        return _take_over(session, record, wanted, now)
    response = None
    if record.state == "done" and record.response_status is not None:
        response = StoredResponse(
            record.response_status,
            dict(record.response_headers or {}),
            (record.response_body or "").encode(),
        )
    return _answer(record.state, record.fingerprint, wanted, response)


def _take_over(
    session: Session, record: IdempotencyRecord, wanted: str, now: datetime
) -> StoredResponse | None:
    taken = session.execute(
        update(IdempotencyRecord)
        .where(
            *_identified(Caller(record.team_id, record.owner_id, record.mode), record.key),
            IdempotencyRecord.locked_at == record.locked_at,
        )
        .values(
            fingerprint=wanted,
            state="running",
            locked_at=now,
            expires_at=now + RETENTION,
            response_status=None,
            response_headers=None,
            response_body=None,
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        return None
    raise _in_progress()


def complete(
    session: Session, caller: Caller, key: str, status: int, headers: dict[str, str], body: bytes
) -> None:
    """Store the outcome (in the caller's transaction: with the route's work, or not at all)."""
    session.execute(
        update(IdempotencyRecord)
        .where(*_identified(caller, key))
        .values(
            state="done",
            response_status=status,
            response_headers=headers,
            response_body=without_secret(body),
        )
        .execution_options(synchronize_session=False)
    )


def release(session: Session, caller: Caller, key: str) -> None:
    """Forget a claim whose request stored nothing (it failed validation or crashed)."""
    session.execute(
        delete(IdempotencyRecord).where(
            *_identified(caller, key), IdempotencyRecord.state == "running"
        )
    )


def sweep(session: Session, now: datetime) -> int:
    """Delete every record past its 24 hours; returns how many."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now))
    swept: int = result.rowcount  # type: ignore[attr-defined]
    return swept
