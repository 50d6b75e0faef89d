"""Configuration from environment variables, validated once at start-up."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class ConfigError(Exception):
    """A configuration variable is unusable; the message names it."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class ScannerKey:
    """A secret scanner's public key (GitHub's partner-program format), PEM, ECDSA P-256."""

    identifier: str
    pem: str
    is_current: bool


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None
    ratelimit_read: int
    ratelimit_write: int
    ratelimit_create: int
    trusted_proxies: tuple[IPNetwork, ...]
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # The master key wrapping secret values (forge.crypto.keyring): a keyring file, or one key.
    master_key_file: Path | None = None
    master_key: bytes | None = field(default=None, repr=False)
    ratelimit_window: int = 60  # seconds the bucket limits are counted over
    ratelimit_auth_failures: int = 20  # failed authentications per client address per window
    redis_prefix: str = "forge:"  # every Redis key Forge writes starts with this
    secret_scanning_keys: tuple[ScannerKey, ...] = ()
    key_usage_flush_seconds: int = 5
    # What one `forge serve` process accepts from a connection (forge.serving).
    max_header_bytes: int = 32 * 1024  # request line + headers; more is a 431
    header_timeout_seconds: int = 10  # the whole head must arrive within this, else closed
    keepalive_timeout_seconds: int = 5  # an idle keep-alive connection is closed after this
    max_connections: int = 1000  # open connections per process; more are answered 503
    # Jobs (docs/jobs.md): a worker's lease on a job, renewed every third of it; `forge serve`
    # runs a worker in-process when `worker_in_process` is on (None: on embedded SQLite only).
    job_lease_seconds: int = 15
    worker_concurrency: int = 8
    worker_in_process: bool | None = None
    # Edges (docs/edge.md): live while their heartbeat is younger than the lease; a purge
    # job fails when a live edge has not applied it within the purge timeout.
    edge_lease_seconds: int = 5
    purge_timeout_seconds: int = 30
    # The secret the edge's agent sends with its purges to a Varnish in front of it
    # (`forge edge --cache varnish`; the same value is in the VCL `forge edge vcl` prints).
    varnish_secret: str | None = field(default=None, repr=False)
    # The edge's port inside `forge serve`, its cache's byte bound, its origin timeouts.
    edge_port: int = 8081
    edge_cache_bytes: int = 256 * 1024 * 1024
    edge_origin_timeout: float = 30.0
    edge_connect_timeout: float = 5.0

    @property
    def runs_worker_in_process(self) -> bool:
        return self.is_sqlite if self.worker_in_process is None else self.worker_in_process

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"expected a whole number, got {raw!r}") from None
    if value < 1:
        raise ConfigError(name, f"must be at least 1, got {value}")
    return value


def _positive_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"expected a number of seconds, got {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(name, f"must be a positive number of seconds, got {raw}")
    return value


def _switch(env: Mapping[str, str], name: str) -> bool | None:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "auto"):
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, f"expected on, off or auto, got {raw!r}")


def _varnish_secret(env: Mapping[str, str]) -> str | None:
    raw = env.get("FORGE_VARNISH_SECRET", "").strip()
    if not raw:
        return None
    if not re.fullmatch(r"[A-Za-z0-9_\-]{32,128}", raw):
        raise ConfigError("FORGE_VARNISH_SECRET", "must be 32 to 128 letters, digits, '-' or '_'")
    return raw


def _database_url(env: Mapping[str, str], data_dir: Path) -> str:
    raw = env.get("FORGE_DATABASE_URL", "").strip()
    if not raw:
        return f"sqlite:///{data_dir / 'forge.db'}"
    if "://" not in raw:
        raise ConfigError("FORGE_DATABASE_URL", "expected sqlite:///path or postgresql://…")
    scheme = raw.split("://", 1)[0]
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + raw.split("://", 1)[1]
    if scheme in ("postgresql+psycopg", "sqlite"):
        return raw
    raise ConfigError(
        "FORGE_DATABASE_URL", f"unsupported scheme {scheme!r}; use sqlite:/// or postgresql://"
    )


def _redis_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("FORGE_REDIS_URL", "").strip()
    if not raw:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("FORGE_REDIS_URL", "expected a redis://, rediss:// or unix:// URL")
    return raw


def _trusted_proxies(env: Mapping[str, str]) -> tuple[IPNetwork, ...]:
    raw = env.get("FORGE_TRUSTED_PROXIES", "").strip()
    networks: list[IPNetwork] = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError("FORGE_TRUSTED_PROXIES", f"{part!r} is not a CIDR") from None
    return tuple(networks)


def _master_key(env: Mapping[str, str]) -> tuple[Path | None, bytes | None]:
    raw_file = env.get("FORGE_MASTER_KEY_FILE", "").strip()
    raw_key = env.get("FORGE_MASTER_KEY", "").strip()
    if raw_file and raw_key:
        raise ConfigError(
            "FORGE_MASTER_KEY", "set FORGE_MASTER_KEY or FORGE_MASTER_KEY_FILE, not both"
        )
    if raw_file:
        path = Path(raw_file).resolve()
        if not path.is_file():
            raise ConfigError("FORGE_MASTER_KEY_FILE", f"no master key file at {path}")
        return path, None
    if raw_key:
        from forge.crypto.keyring import decode_key

        return None, decode_key(raw_key, "FORGE_MASTER_KEY")
    return None, None


def _scanner_key(entry: object) -> ScannerKey:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    if not isinstance(entry, dict) or not isinstance(entry.get("key_identifier"), str):
        raise ValueError("each public key needs a key_identifier")
    pem = entry.get("key")
    if not isinstance(pem, str):
        raise ValueError(f"key {entry['key_identifier']!r} has no PEM `key`")
    try:
        public_key = load_pem_public_key(pem.encode())
    except ValueError:
        raise ValueError(f"key {entry['key_identifier']!r} is not a PEM public key") from None
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != (
        "secp256r1"
    ):
        raise ValueError(f"key {entry['key_identifier']!r} is not an ECDSA P-256 key")
    return ScannerKey(entry["key_identifier"], pem, bool(entry.get("is_current", False)))


def _secret_scanning_keys(env: Mapping[str, str]) -> tuple[ScannerKey, ...]:
    """The scanners' public keys, read from the file the operator names; never fetched."""
    raw = env.get("FORGE_SECRET_SCANNING_KEYS", "").strip()
    if not raw:
        return ()
    try:
        document = json.loads(Path(raw).read_text())
        entries = document["public_keys"]
        if not isinstance(entries, list):
            raise ValueError("public_keys must be a list")
        return tuple(_scanner_key(entry) for entry in entries)
    except OSError as err:
        raise ConfigError(
            "FORGE_SECRET_SCANNING_KEYS", f"cannot read {raw}: {err.strerror}"
        ) from None
    except (ValueError, KeyError, TypeError) as err:
        problem = "no public_keys list" if isinstance(err, KeyError | TypeError) else str(err)
        raise ConfigError("FORGE_SECRET_SCANNING_KEYS", f"{raw}: {problem}") from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every FORGE_* variable; raise ConfigError naming the first bad one."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("FORGE_DATA_DIR", "").strip() or "./.forge").resolve()
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError("FORGE_DATA_DIR", f"{data_dir} exists and is not a directory")
    master_key_file, master_key = _master_key(env)
    return Settings(
        data_dir=data_dir,
        database_url=_database_url(env, data_dir),
        redis_url=_redis_url(env),
        ratelimit_read=_positive_int(env, "FORGE_RATELIMIT_READ", 1000),
        ratelimit_write=_positive_int(env, "FORGE_RATELIMIT_WRITE", 100),
        ratelimit_create=_positive_int(env, "FORGE_RATELIMIT_CREATE", 5),
        trusted_proxies=_trusted_proxies(env),
        max_body_bytes=_positive_int(env, "FORGE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        master_key_file=master_key_file,
        master_key=master_key,
        ratelimit_window=_positive_int(env, "FORGE_RATELIMIT_WINDOW", 60),
        ratelimit_auth_failures=_positive_int(env, "FORGE_RATELIMIT_AUTH_FAILURES", 20),
        redis_prefix=env.get("FORGE_REDIS_PREFIX", "").strip() or "forge:",
        secret_scanning_keys=_secret_scanning_keys(env),
        key_usage_flush_seconds=_positive_int(env, "FORGE_KEY_USAGE_FLUSH_SECONDS", 5),
        max_header_bytes=_positive_int(env, "FORGE_MAX_HEADER_BYTES", 32 * 1024),
        header_timeout_seconds=_positive_int(env, "FORGE_HEADER_TIMEOUT_SECONDS", 10),
        keepalive_timeout_seconds=_positive_int(env, "FORGE_KEEPALIVE_TIMEOUT_SECONDS", 5),
        max_connections=_positive_int(env, "FORGE_MAX_CONNECTIONS", 1000),
        edge_port=_positive_int(env, "FORGE_EDGE_PORT", 8081),
        edge_cache_bytes=_positive_int(env, "FORGE_EDGE_CACHE_BYTES", 256 * 1024 * 1024),
        edge_origin_timeout=_positive_seconds(env, "FORGE_EDGE_ORIGIN_TIMEOUT", 30.0),
        edge_connect_timeout=_positive_seconds(env, "FORGE_EDGE_CONNECT_TIMEOUT", 5.0),
        job_lease_seconds=_positive_int(env, "FORGE_JOB_LEASE_SECONDS", 15),
        worker_concurrency=_positive_int(env, "FORGE_WORKER_CONCURRENCY", 8),
        worker_in_process=_switch(env, "FORGE_WORKER_IN_PROCESS"),
        edge_lease_seconds=_positive_int(env, "FORGE_EDGE_LEASE_SECONDS", 5),
        purge_timeout_seconds=_positive_int(env, "FORGE_PURGE_TIMEOUT_SECONDS", 30),
        varnish_secret=_varnish_secret(env),
    )
