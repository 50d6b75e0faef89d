"""The master key's life: checked at start-up, rotated by re-wrapping data keys, retired.

Start-up refuses a missing or wrong master key: every master key that ever wrapped a data key
here left a check value (a known block wrapped by it) in `master_key_checks`; the configured
keyring must open them, and must hold every key that secret versions name.

Rotation makes a fresh key current (written to the keyring file, which running processes
re-read on their next secret write), then re-wraps every data key in batches. Only the 40-byte
wrapped data keys are touched; no value is ever decrypted. Each update is guarded by the old
key id, so it never clobbers a row changed meanwhile, and passes repeat until none is left.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from forge.clock import utcnow
from forge.config import ConfigError, Settings
from forge.crypto.envelope import rewrap
from forge.crypto.keyring import (
    FILE_VARIABLE,
    Keyring,
    add_current_key,
    configured_keyring,
    embedded_path,
    generate_embedded,
    write_keyring,
)
from forge.db import Database, insert_if_absent
from forge.errors import Conflict, NotFound
from forge.secrets.models import MasterKeyCheck, SecretVersion

_CHECK_BLOCK = b"forge master key check block v1!"  # 32 bytes, wrapped by each key
REWRAP_BATCH = 2000


def _check_value(key: bytes) -> bytes:
    return aes_key_wrap(key, _CHECK_BLOCK)


def _opens(key: bytes, check_value: bytes) -> bool:
    try:
        return hmac.compare_digest(aes_key_unwrap(key, check_value), _CHECK_BLOCK)
    except (InvalidUnwrap, ValueError):
        return False


def _known_checks(session: Session) -> dict[str, bytes]:
    rows = session.execute(select(MasterKeyCheck.key_id, MasterKeyCheck.check_value)).all()
    return {key_id: value for key_id, value in rows}


def register(session: Session, keyring: Keyring, key_id: str) -> None:
    # Several processes may start at once: the first one registers, the others find it.
    insert_if_absent(
        session,
        MasterKeyCheck,
        {
            "key_id": key_id,
            "check_value": _check_value(keyring.keys[key_id]),
            "created_at": utcnow(),
        },
    )


def verify(session: Session, keyring: Keyring) -> None:
    """Raise ConfigError (naming the setting) unless `keyring` opens this database's secrets."""
    known = _known_checks(session)
    for key_id, value in known.items():
        if key_id in keyring.keys and not _opens(keyring.keys[key_id], value):
            raise ConfigError(keyring.variable, f"master key {key_id} fails its check value")
    if known and not set(known) & set(keyring.keys):
        raise ConfigError(
            keyring.variable,
            f"wrong master key: the keyring holds {', '.join(sorted(keyring.keys))} but this "
            f"database's secrets are sealed under {', '.join(sorted(known))}",
        )
    stray = session.scalar(
        select(SecretVersion.master_key_id)
        .where(SecretVersion.master_key_id.not_in(list(keyring.keys)))
        .limit(1)
    )
    if stray is not None:
        raise ConfigError(
            keyring.variable,
            f"secret values are sealed under master key {stray}, not in the keyring",
        )


def open_keyring(settings: Settings, database: Database) -> Keyring:
    """The keyring to serve with, verified against the database (generated on first start)."""
    keyring = configured_keyring(settings)
    with database.session() as session:
        if keyring is None:
            known = _known_checks(session)
            # A process starting beside this one may have just written the embedded keyring.
            keyring = configured_keyring(settings) if known else generate_embedded(settings)
            if keyring is None:
                raise ConfigError(
                    FILE_VARIABLE,
                    f"master key missing: no keyring at {embedded_path(settings)} and none "
                    f"configured, but this database's secrets are sealed under "
                    f"{', '.join(sorted(known))}; restore the keyring file or set "
                    "FORGE_MASTER_KEY_FILE / FORGE_MASTER_KEY",
                )
        verify(session, keyring)
        register(session, keyring, keyring.current_id)
    return keyring


@dataclass(frozen=True)
class Rotation:
    key_id: str
    rewrapped: int


def _rewrap_pass(
    database: Database, keyring: Keyring, target: str, batch: int, progress: Callable[[int], None]
) -> int:
    table = SecretVersion.__table__
    assert isinstance(table, Table)
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.master_key_id == bindparam("old_id"))
        .values(wrapped_key=bindparam("new_wrapped"), master_key_id=target)
    )
    done, after = 0, ""
    new_key = keyring.keys[target]
    while True:
        with database.session() as session:
            rows = session.execute(
                select(SecretVersion.id, SecretVersion.master_key_id, SecretVersion.wrapped_key)
                .where(SecretVersion.id > after, SecretVersion.master_key_id != target)
                .order_by(SecretVersion.id)
                .limit(batch)
            ).all()
            if not rows:
                return done
            changes = [
                {
                    "row_id": row_id,
                    "old_id": old_id,
                    "new_wrapped": rewrap(keyring.key(old_id), new_key, wrapped, row_id),
                }
                for row_id, old_id, wrapped in rows
            ]
            session.connection().execute(statement, changes)
        done += len(rows)
        after = rows[-1][0]
        progress(done)


def rewrap_all(
    database: Database,
    keyring: Keyring,
    batch: int = REWRAP_BATCH,
    progress: Callable[[int], None] = lambda _: None,
) -> int:
    """Re-wrap every data key not yet under the current key; repeat until a pass finds none
    (writers that sealed under the old key just before switching are caught by the next)."""
    total = 0
    while True:
        done = _rewrap_pass(database, keyring, keyring.current_id, batch, progress)
        total += done
        if done == 0:
            return total


def rotate(
    database: Database,
    keyring: Keyring,
    batch: int = REWRAP_BATCH,
    progress: Callable[[int], None] = lambda _: None,
) -> Rotation:
    with database.session() as session:
        verify(session, keyring)
    key_id = add_current_key(keyring)
    with database.session() as session:
        register(session, keyring, key_id)
    return Rotation(key_id=key_id, rewrapped=rewrap_all(database, keyring, batch, progress))


def retire(database: Database, keyring: Keyring, key_id: str) -> None:
    """Drop an old key from the keyring once no data key is wrapped by it."""
    if key_id not in keyring.keys:
        raise NotFound(f"No master key {key_id} in the keyring.", param="key_id")
    if key_id == keyring.current_id:
        raise Conflict(f"{key_id} is the current master key; rotate first.", param="key_id")
    with database.session() as session:
        in_use = session.scalar(
            select(func.count())
            .select_from(SecretVersion)
            .where(SecretVersion.master_key_id == key_id)
        )
        if in_use:
            raise Conflict(
                f"{in_use} secret versions are still wrapped by {key_id}; "
                "run `forge admin master-key rewrap` first.",
                param="key_id",
            )
        check = session.get(MasterKeyCheck, key_id)
        if check is not None:
            session.delete(check)
        del keyring.keys[key_id]
        keyring.created.pop(key_id, None)
        write_keyring(keyring)
