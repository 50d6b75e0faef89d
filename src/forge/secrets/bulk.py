"""Many keys at once: import a dotenv atomically, and compare two environments without
revealing a value."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

from forge.crypto.keyring import Keyring
from forge.errors import ValidationFailed
from forge.principal import Principal
from forge.secrets import dotenv, listing, rules, service
from forge.secrets.inheritance import Effective, resolve
from forge.secrets.values import open_version
from forge.secrets.writes import ValueRejected, write_values
from forge.sites.service import EnvironmentLike


@dataclass
class Imported:
    set: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _line_error(line: int, err: ValidationFailed) -> ValidationFailed:
    return ValidationFailed(f"dotenv: line {line}: {err.message}", param="dotenv")


def _check_name(line: int, name: str) -> None:
    try:
        rules.check_name(name)
    except ValidationFailed as err:
        raise _line_error(line, err) from None


def import_dotenv(
    session: Session,
    keyring: Keyring,
    principal: Principal,
    env: EnvironmentLike,
    text: str,
    overwrite: bool,
) -> Imported:
    """All or nothing: every entry is applied in the request's transaction, and any failure
    (even half-way) raises, so the whole unit of work is rolled back."""
    entries = dotenv.parse(text)
    if not entries:
        raise ValidationFailed("dotenv: no NAME=value lines.", param="dotenv")
    own = {item.name: item.secret for item in resolve(session, env) if item.source.id == env.id}
    result = Imported()
    changes: list[service.NewValue] = []
    lines: dict[str, int] = {}
    for line, name, value in entries:
        _check_name(line, name)
        existing = own.get(name)
        if existing is not None and existing.has_value and not overwrite:
            result.kept.append(name)
        else:
            lines[name] = line
            changes.append(service.NewValue(name, value))
    if changes:
        try:
            write_values(session, keyring, principal, env, changes)
        except ValueRejected as err:
            raise _line_error(lines[err.name], err) from None
    result.set = [change.name for change in changes]
    service.record(
        session,
        principal,
        env,
        "secret.imported",
        keys=result.set,
        kept=result.kept,
        overwrite=overwrite,
    )
    return result


Comparison = Literal["same", "different", "only_here", "only_there"]


def _fingerprints(
    session: Session, keyring: Keyring, key: bytes, items: list[Effective]
) -> dict[str, bytes]:
    """Keyed HMAC of each current value (opened in memory, one at a time, then dropped)."""
    rows = listing.current_versions(session, items)
    by_name = {item.name: item for item in items}
    return {
        name: hmac.new(
            key, open_version(keyring, by_name[name].source, name, row), hashlib.sha256
        ).digest()
        for name, row in rows.items()
    }


def _same(mine: bytes | None, theirs: bytes | None) -> bool:
    """Two keys without a value are the same; a value and none are not."""
    if mine is None or theirs is None:
        return mine is None and theirs is None
    return hmac.compare_digest(mine, theirs)


def compare(
    session: Session, keyring: Keyring, env: EnvironmentLike, other: EnvironmentLike
) -> list[tuple[str, Comparison]]:
    here = {item.name: item for item in resolve(session, env)}
    there = {item.name: item for item in resolve(session, other)}
    both = [name for name in here if name in there]
    # Fingerprints are keyed (a plain hash of a short value could be brute-forced), computed
    # here, compared in constant time and dropped: never stored, never returned.
    key = hmac.new(keyring.current, b"forge fingerprint v1", hashlib.sha256).digest()
    mine = _fingerprints(session, keyring, key, [here[n] for n in both])
    theirs = _fingerprints(session, keyring, key, [there[n] for n in both])
    result: list[tuple[str, Comparison]] = []
    for name in sorted(set(here) | set(there)):
        if name not in there:
            result.append((name, "only_here"))
        elif name not in here:
            result.append((name, "only_there"))
        else:
            result.append(
                (name, "same" if _same(mine.get(name), theirs.get(name)) else "different")
            )
    return result
