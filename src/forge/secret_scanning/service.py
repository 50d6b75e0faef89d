"""Leaked keys reported by a secret scanner: verify the report, revoke, record, answer.

The signature is checked over the raw body bytes, before anything in the body is parsed or
believed. A token is ours only if its shape and checksum hold (checked offline) and its hash
names a stored secret; then its key is revoked (every secret at once) and `key.leaked` is
recorded with the reported URL, once per key and URL, so a replayed alert changes nothing.
"""

from __future__ import annotations

import base64
import binascii
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from forge.audit import service as audit
from forge.audit.models import AuditEvent
from forge.config import ScannerKey
from forge.errors import AuthenticationFailed, ForgeError, ValidationFailed
from forge.keys import service as keys
from forge.keys import tokens
from forge.keys.models import ApiKey, KeySecret
from forge.secret_scanning.schemas import MAX_ALERTS, Alert, Alerts, Verdict

BAD_SIGNATURE = "The secret-scanning alert's signature does not verify."


@cache
def _public_key(pem: str) -> ec.EllipticCurvePublicKey:
    key = load_pem_public_key(pem.encode())
    assert isinstance(key, ec.EllipticCurvePublicKey)  # checked at start-up
    return key


def verify(
    configured: tuple[ScannerKey, ...], identifier: str | None, signature: str | None, body: bytes
) -> None:
    """401 unless `signature` (base64 DER ECDSA P-256 SHA-256) signs `body` with the
    configured public key named `identifier`."""
    if not configured:
        raise AuthenticationFailed("Secret scanning is not configured on this server.")
    if not identifier or not signature:
        raise AuthenticationFailed(
            "Github-Public-Key-Identifier and Github-Public-Key-Signature are required."
        )
    scanner = next((k for k in configured if k.identifier == identifier), None)
    if scanner is None:
        raise AuthenticationFailed(BAD_SIGNATURE)
    try:
        der = base64.b64decode(signature, validate=True)
        _public_key(scanner.pem).verify(der, body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        raise AuthenticationFailed(BAD_SIGNATURE) from None


def parse(body: bytes) -> list[Alert]:
    try:
        alerts = Alerts.validate_json(body)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ValidationFailed(f"{where}: {first['msg']}", param=where) from None
    if len(alerts) > MAX_ALERTS:
        raise ValidationFailed(f"At most {MAX_ALERTS} tokens per alert.", param="body")
    return alerts


def _ours(token: str) -> str | None:
    """The secret's hash if the token has our shape and checksum, else None (offline)."""
    try:
        return tokens.parse(token).secret_hash
    except ForgeError:
        return None


def _already_reported(session: Session, key: ApiKey, url: str) -> bool:
    events = session.scalars(
        select(AuditEvent.data).where(
            AuditEvent.team_id == key.team_id,
            AuditEvent.action == "key.leaked",
            AuditEvent.resource_id == key.id,
        )
    )
    return any(data.get("url") == url for data in events)


def handle(session: Session, alert: Alert) -> Verdict:
    secret_hash = _ours(alert.token)
    found = None
    if secret_hash is not None:
        found = session.execute(
            select(ApiKey, KeySecret.prefix)
            .join(KeySecret, KeySecret.key_id == ApiKey.id)
            .where(KeySecret.secret_hash == secret_hash)
            .with_for_update(of=ApiKey)
        ).first()
    if found is None:
        return Verdict(token_raw=alert.token, token_type=alert.type, label="false_positive")
    key, prefix = found
    keys.lock_key(session, key.id)  # on SQLite too: a second alert for it waits, then sees it
    session.refresh(key)
    revoked = keys.revoke_loaded(session, key, None, audit.SYSTEM_SECRET_SCANNING)
    if revoked or not _already_reported(session, key, alert.url):
        keys.record_event(
            session,
            key,
            "key.leaked",
            None,
            audit.SYSTEM_SECRET_SCANNING,
            prefix=f"{prefix}…",
            url=alert.url,
            source=alert.source,
            token_type=alert.type,
            revoked_now=revoked,
        )
    return Verdict(token_raw=alert.token, token_type=alert.type, label="true_positive")


def handle_all(session: Session, alerts: list[Alert]) -> list[Verdict]:
    return [handle(session, alert) for alert in alerts]
