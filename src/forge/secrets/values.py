"""Sealing and opening secret versions: a value bound to team, site, environment, name and
version through the associated data, so a row copied anywhere else fails to decrypt."""

from __future__ import annotations

from typing import Any

from forge.crypto.envelope import Sealed, open_sealed, seal
from forge.crypto.keyring import Keyring
from forge.secrets.models import SecretVersion
from forge.sites.service import EnvironmentLike


def associated_data(env: EnvironmentLike, name: str, version: int) -> bytes:
    # NUL-separated: none of the parts can contain a NUL (ids and names are validated).
    parts = ("forge-secret-v1", env.site.team_id, env.site_id, env.id, name, str(version))
    return "\x00".join(parts).encode()


def sealed_columns(
    keyring: Keyring, env: EnvironmentLike, name: str, version: int, value: bytes
) -> dict[str, Any]:
    """The sealed columns of a `secret_versions` row holding `value` as `name`'s `version`,
    under the keyring's current key (the caller refreshes the keyring first)."""
    sealed = seal(keyring.current, value, associated_data(env, name, version))
    return {
        "ciphertext": sealed.ciphertext,
        "nonce": sealed.nonce,
        "wrapped_key": sealed.wrapped_key,
        "master_key_id": keyring.current_id,
    }


def open_version(keyring: Keyring, env: EnvironmentLike, name: str, row: SecretVersion) -> bytes:
    """Raises DecryptionFailed (naming the row, never a value) unless the row is intact and
    sits where it was sealed."""
    where = f"secret {name} version {row.version} ({row.id}) of {env.id}"
    return open_sealed(
        keyring.key(row.master_key_id),
        Sealed(row.ciphertext, row.nonce, row.wrapped_key),
        associated_data(env, name, row.version),
        where,
    )
