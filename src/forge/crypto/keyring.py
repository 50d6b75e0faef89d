"""The master keys: one current key that wraps new data keys, older ones kept to unwrap.

Sources, in order: `FORGE_MASTER_KEY_FILE` (a keyring file), `FORGE_MASTER_KEY` (one key,
base64), else the embedded keyring `<data dir>/master-keys.json`, generated on first start with
mode 0600. A keyring file is JSON: `{"current": id, "keys": [{"id", "key", "created_at"}]}`;
a file holding one bare base64 key is read as a keyring of one. Key ids are derived from the
key itself, so a key pasted under the wrong id is caught when the file is read.

Running processes re-read a keyring file when it changes (checked on secret writes and on an
unknown key id, never on the hot path), so `forge admin master-key rotate` can switch the
current key while the server runs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from forge.clock import rfc3339, utcnow
from forge.config import ConfigError, Settings
from forge.crypto.envelope import DATA_KEY_BYTES, DecryptionFailed

EMBEDDED_FILE = "master-keys.json"
FILE_VARIABLE = "FORGE_MASTER_KEY_FILE"
ENV_VARIABLE = "FORGE_MASTER_KEY"


def key_id_of(key: bytes) -> str:
    digest = hmac.new(key, b"forge master key id v1", hashlib.sha256).hexdigest()
    return f"mk_{digest[:20]}"


def new_master_key() -> bytes:
    return os.urandom(DATA_KEY_BYTES)


def decode_key(text: str, variable: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(variable, "the master key is not valid base64") from None
    if len(key) != DATA_KEY_BYTES:
        raise ConfigError(variable, f"a master key is {DATA_KEY_BYTES} bytes, base64-encoded")
    return key


@dataclass
class Keyring:
    keys: dict[str, bytes]
    current_id: str
    variable: str  # which setting it came from, for error messages
    path: Path | None = None  # None: from FORGE_MASTER_KEY, cannot be rewritten
    created: dict[str, str] = field(default_factory=dict)
    _mtime: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(current={self.current_id}, ids={sorted(self.keys)})"

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    def key(self, key_id: str) -> bytes:
        if key_id not in self.keys:
            self.refresh()
        try:
            return self.keys[key_id]
        except KeyError:
            raise DecryptionFailed(f"master key {key_id} is not in the keyring") from None

    def refresh(self) -> None:
        """Re-read the file if it changed since it was read (a rotation elsewhere)."""
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            return
        if mtime == self._mtime:
            return
        with self._lock:
            fresh = read_keyring_file(self.path, self.variable)
            self.keys, self.current_id, self.created = fresh.keys, fresh.current_id, fresh.created
            self._mtime = fresh._mtime

    def to_json(self) -> bytes:
        keys = [
            {
                "id": key_id,
                "key": base64.b64encode(key).decode(),
                "created_at": self.created.get(key_id),
            }
            for key_id, key in self.keys.items()
        ]
        return orjson.dumps({"current": self.current_id, "keys": keys}, option=orjson.OPT_INDENT_2)


def _parse(raw: bytes, variable: str, path: Path) -> Keyring:
    text = raw.decode("utf-8", "replace").strip()
    if not text.startswith("{"):
        key = decode_key(text, variable)
        return Keyring({key_id_of(key): key}, key_id_of(key), variable, path)
    try:
        document = orjson.loads(text)
        entries = document["keys"]
        current = document["current"]
        keys: dict[str, bytes] = {}
        created: dict[str, str] = {}
        for entry in entries:
            key = decode_key(entry["key"], variable)
            if key_id_of(key) != entry["id"]:
                raise ConfigError(variable, f"{path}: key {entry['id']} does not match its id")
            keys[entry["id"]] = key
            created[entry["id"]] = entry.get("created_at") or ""
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise ConfigError(variable, f"{path} is not a Forge keyring file") from None
    if current not in keys:
        raise ConfigError(variable, f"{path}: the current key {current} is not in the file")
    return Keyring(keys, current, variable, path, created)


def read_keyring_file(path: Path, variable: str) -> Keyring:
    try:
        raw = path.read_bytes()
        mtime = path.stat().st_mtime_ns
    except OSError as err:
        raise ConfigError(
            variable, f"cannot read the master key file {path}: {err.strerror}"
        ) from None
    keyring = _parse(raw, variable, path)
    keyring._mtime = mtime
    return keyring


def embedded_path(settings: Settings) -> Path:
    return settings.data_dir / EMBEDDED_FILE


def configured_keyring(settings: Settings) -> Keyring | None:
    """The operator's keyring, or None when none is configured and no embedded one exists yet."""
    if settings.master_key_file is not None:
        return read_keyring_file(settings.master_key_file, FILE_VARIABLE)
    if settings.master_key is not None:
        key = settings.master_key
        return Keyring({key_id_of(key): key}, key_id_of(key), ENV_VARIABLE)
    path = embedded_path(settings)
    if path.exists():
        return read_keyring_file(path, FILE_VARIABLE)
    return None


def write_keyring(keyring: Keyring, *, only_if_absent: bool = False) -> None:
    """Atomically replace the keyring file, owner-only from the first byte. With
    `only_if_absent`, raise FileExistsError instead when another process wrote one first."""
    if keyring.path is None:
        raise ConfigError(
            ENV_VARIABLE,
            "a key given in FORGE_MASTER_KEY cannot be rotated in place; "
            "use a keyring file (FORGE_MASTER_KEY_FILE)",
        )
    keyring.path.parent.mkdir(parents=True, exist_ok=True)
    temporary = keyring.path.with_name(f".{keyring.path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(keyring.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    if only_if_absent:
        try:
            os.link(temporary, keyring.path)
        finally:
            os.unlink(temporary)
    else:
        os.replace(temporary, keyring.path)
    keyring._mtime = keyring.path.stat().st_mtime_ns


def generate_embedded(settings: Settings) -> Keyring:
    """The first start's key. Several processes starting at once all end up with the one
    that reached the disk first."""
    key = new_master_key()
    key_id = key_id_of(key)
    keyring = Keyring(
        {key_id: key}, key_id, FILE_VARIABLE, embedded_path(settings), {key_id: rfc3339(utcnow())}
    )
    try:
        write_keyring(keyring, only_if_absent=True)
    except FileExistsError:
        return read_keyring_file(embedded_path(settings), FILE_VARIABLE)
    return keyring


def add_current_key(keyring: Keyring) -> str:
    """A fresh key becomes current; the old ones stay to unwrap until they are retired."""
    key = new_master_key()
    key_id = key_id_of(key)
    keyring.keys[key_id] = key
    keyring.created[key_id] = rfc3339(utcnow())
    keyring.current_id = key_id
    write_keyring(keyring)
    return key_id
