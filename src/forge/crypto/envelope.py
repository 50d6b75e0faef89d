"""Envelope encryption of one value: a fresh data key per value, wrapped by a master key.

AES-256-GCM with a random 96-bit nonce encrypts the value under a 256-bit data key used once;
the data key is wrapped with AES key wrap (RFC 3394) under the master key. Associated data
binds the ciphertext to where it belongs, so a row copied elsewhere fails to open. Re-wrapping
(master-key rotation) touches only the 40-byte wrapped key, never the value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

DATA_KEY_BYTES = 32
NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """A sealed value did not open: wrong master key, altered bytes, or a row moved elsewhere.
    The message names the row, never a value."""


@dataclass(frozen=True)
class Sealed:
    ciphertext: bytes
    nonce: bytes
    wrapped_key: bytes


def seal(master_key: bytes, plaintext: bytes, associated_data: bytes) -> Sealed:
    data_key = AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, associated_data)
    return Sealed(ciphertext, nonce, aes_key_wrap(master_key, data_key))


def unwrap(master_key: bytes, wrapped_key: bytes, where: str) -> bytes:
    try:
        return aes_key_unwrap(master_key, wrapped_key)
    except (InvalidUnwrap, ValueError):
        raise DecryptionFailed(
            f"{where}: the data key does not unwrap under its master key"
        ) from None


def open_sealed(master_key: bytes, sealed: Sealed, associated_data: bytes, where: str) -> bytes:
    data_key = unwrap(master_key, sealed.wrapped_key, where)
    try:
        return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, associated_data)
    except (InvalidTag, ValueError):
        raise DecryptionFailed(
            f"{where}: the ciphertext was altered or does not belong to this secret version"
        ) from None


def rewrap(old_master: bytes, new_master: bytes, wrapped_key: bytes, where: str) -> bytes:
    return aes_key_wrap(new_master, unwrap(old_master, wrapped_key, where))
