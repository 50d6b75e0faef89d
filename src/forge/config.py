"""Configuration from environment variables, validated once at start-up.

`Settings` declares every `FORGE_*` variable once: its name (the field's, upper-cased, after
`FORGE_`), type, default and description. docs/operations.md's table is generated from it
(`tools/config_reference.py`). A blank value means the default. A bad value raises
`ConfigError`, one line naming the variable (and never echoing a secret).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic.config import JsonDict
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

PREFIX = "FORGE_"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class ConfigError(Exception):
    """A configuration variable is unusable; the message names it."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class Kind:
    """What the generated configuration table calls a variable's type."""

    text: str


@dataclass(frozen=True)
class ScannerKey:
    """A secret scanner's public key (GitHub's partner-program format), PEM, ECDSA P-256."""

    identifier: str
    pem: str
    is_current: bool


Count = Annotated[int, Field(ge=1), Kind("integer ≥ 1")]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False), Kind("seconds")]


def variable(field_name: str) -> str:
    """The environment variable a field is read from."""
    return PREFIX + field_name.upper()


def setting(default: Any, description: str, *, shown: str | None = None, **options: Any) -> Any:
    """A field: its default, its description, and how the table shows a derived default."""
    extra: JsonDict | None = {"shown": shown} if shown is not None else None
    return Field(default, description=description, json_schema_extra=extra, **options)


class Settings(BaseSettings):
    """Every FORGE_* variable. Tests derive variants with `model_copy(update={...})`."""

    # BaseSettings validates defaults too: the validators below see them (None included).
    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_default=True)

    data_dir: Annotated[Path, Kind("path")] = setting(
        "./.forge",
        "Where embedded state lives (the SQLite file, generated keys).",
    )
    database_url: Annotated[str, Kind("URL")] = setting(
        "",
        "`sqlite:///path` or `postgresql://user@host:port/db`.",
        shown="sqlite:///$FORGE_DATA_DIR/forge.db",
    )
    redis_url: Annotated[str | None, Kind("URL")] = setting(
        None, "`redis://host:port/db`; shared rate-limit counters across processes."
    )
    ratelimit_read: Count = setting(
        1000, "Requests per key per window (`FORGE_RATELIMIT_WINDOW`) in the `read` bucket."
    )
    ratelimit_write: Count = setting(100, "… in the `write` bucket.")
    ratelimit_create: Count = setting(5, "… in the `create` bucket.")
    ratelimit_window: Count = setting(
        60, "Seconds the bucket limits are counted over ([rate-limits.md](rate-limits.md))."
    )
    ratelimit_auth_failures: Count = setting(
        20, "Failed authentications per client address per window before 429."
    )
    redis_prefix: str = setting("forge:", "Prefix of every Redis key Forge writes.")
    redis_timeout_seconds: Seconds = setting(
        0.25,
        "How long the rate limiter waits for Redis (to connect, for a reply, for a free "
        "pooled connection) before counting in-process instead ([rate-limits.md]"
        "(rate-limits.md#when-redis-is-unreachable)).",
    )
    trusted_proxies: Annotated[tuple[IPNetwork, ...], Kind("CIDRs, comma-separated")] = setting(
        (),
        "CIDRs whose `X-Forwarded-For` is believed. Forge alone decides: `forge serve` starts "
        "every uvicorn process (`--workers` included) with its proxy-header handling off, so a "
        "header from 127.0.0.1 is ignored unless 127.0.0.1 is listed here.",
    )
    secret_scanning_keys: Annotated[tuple[ScannerKey, ...], Kind("path")] = setting(
        (),
        'JSON file of the secret scanners\' public keys (`{"public_keys": [...]}`), see '
        "[keys.md](keys.md); read at start-up, never fetched.",
    )
    key_usage_flush_seconds: Count = setting(
        5, "How often recorded key usage (`last_used_at`, audit counts) is written."
    )
    max_body_bytes: Count = setting(
        DEFAULT_MAX_BODY_BYTES,
        "Largest accepted request body (the redirect set `PUT` alone accepts 16 MiB whatever "
        "this says: docs/redirects.md).",
    )
    max_header_bytes: Count = setting(
        32 * 1024,
        "Largest request head (request target and headers); more is "
        "`431 header_fields_too_large`, answered while the bytes arrive.",
    )
    header_timeout_seconds: Count = setting(
        10,
        "A request head must arrive whole within this (from the connection's start or the "
        "previous response); otherwise the connection is closed. Dripping bytes does not "
        "extend it.",
    )
    keepalive_timeout_seconds: Count = setting(
        5, "An idle keep-alive connection is closed after this."
    )
    max_connections: Count = setting(
        1000,
        "Open connections per `forge serve` process; a connection past it is answered "
        "`503 unavailable` and closed.",
    )
    master_key_file: Annotated[Path | None, Kind("path")] = setting(
        None, "Keyring file sealing secret values (see master-key rotation below)."
    )
    master_key: Annotated[bytes | None, Kind("base64, 32 bytes")] = setting(
        None,
        "One base64 master key instead of a file. Neither set: "
        "`$FORGE_DATA_DIR/master-keys.json` is generated (mode 0600).",
        repr=False,
    )
    worker_in_process: Annotated[bool | None, Kind("on, off or auto")] = setting(
        None,
        "`on`/`off`: run the job worker inside `forge serve`; `auto` = on for SQLite only "
        "([jobs.md](jobs.md)).",
        shown="auto",
    )
    worker_concurrency: Count = setting(8, "Jobs one worker runs at once.")
    job_lease_seconds: Count = setting(
        15,
        "A worker's lease on a job, renewed every third of it; another worker takes the "
        "job over after it.",
    )
    edge_lease_seconds: Count = setting(
        5, "An edge is live while its heartbeat is younger than this."
    )
    purge_timeout_seconds: Count = setting(
        30, "How long a purge job waits for a live edge before failing."
    )
    edge_port: Count = setting(
        8081, "The edge's port inside `forge serve` (`--edge-port` overrides it)."
    )
    edge_cache_bytes: Count = setting(
        256 * 1024 * 1024,
        "Each edge's cache bound (256 MiB); least recently used entries go first.",
    )
    edge_origin_timeout: Seconds = setting(
        30.0, "Seconds an edge waits for an origin's answer before `504`."
    )
    edge_connect_timeout: Seconds = setting(
        5.0, "Seconds an edge waits to connect to an origin before `502`."
    )
    varnish_secret: Annotated[str | None, Kind("secret, 32–128 characters")] = setting(
        None,
        "The secret the edge's agent sends with its purges to a Varnish in front of it "
        "(`forge edge --cache varnish`; the same value is in the VCL `forge edge vcl` prints).",
        repr=False,
    )

    @property
    def runs_worker_in_process(self) -> bool:
        return self.is_sqlite if self.worker_in_process is None else self.worker_in_process

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the process environment; no .env or secrets files."""
        return init_settings, Variables(settings_cls, os.environ)

    @field_validator("data_dir")
    @classmethod
    def _a_directory(cls, value: Path) -> Path:
        resolved = value.resolve()
        if resolved.exists() and not resolved.is_dir():
            raise ValueError(f"{resolved} exists and is not a directory")
        return resolved

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            data_dir = info.data.get("data_dir")
            return f"sqlite:///{data_dir / 'forge.db'}" if data_dir is not None else ""
        if "://" not in value:
            raise ValueError("expected sqlite:///path or postgresql://…")
        scheme, rest = value.split("://", 1)
        if scheme in ("postgresql", "postgres"):
            return "postgresql+psycopg://" + rest
        if scheme in ("postgresql+psycopg", "sqlite"):
            return value
        raise ValueError(f"unsupported scheme {scheme!r}; use sqlite:/// or postgresql://")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _cidrs(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        networks: list[IPNetwork] = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"{part!r} is not a CIDR") from None
        return tuple(networks)

    @field_validator("secret_scanning_keys", mode="before")
    @classmethod
    def _scanner_keys(cls, value: object) -> object:
        return _read_scanner_keys(value) if isinstance(value, str) else value

    @field_validator("master_key_file")
    @classmethod
    def _keyring_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        path = value.resolve()
        if not path.is_file():
            raise ValueError(f"no master key file at {path}")
        return path

    @field_validator("master_key", mode="before")
    @classmethod
    def _master_key(cls, value: object, info: ValidationInfo) -> object:
        if value is not None and info.data.get("master_key_file") is not None:
            raise ValueError("set FORGE_MASTER_KEY or FORGE_MASTER_KEY_FILE, not both")
        if not isinstance(value, str):
            return value
        from forge.crypto.keyring import decode_key  # cryptography: only when a key is set

        try:
            return decode_key(value, variable("master_key"))
        except ConfigError as err:
            raise ValueError(err.problem) from None

    @field_validator("worker_in_process", mode="before")
    @classmethod
    def _switch(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        word = value.lower()
        if word == "auto":
            return None
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected on, off or auto, got {value!r}")

    @field_validator("varnish_secret")
    @classmethod
    def _varnish_secret(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_\-]{32,128}", value):
            raise ValueError("must be 32 to 128 letters, digits, '-' or '_'")
        return value


class Variables(PydanticBaseSettingsSource):
    """`FORGE_<FIELD>` from a mapping of environment variables, by exact name; a blank value
    (or only spaces) counts as unset, so the field keeps its default."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        name = variable(field_name)
        return self._environ.get(name, "").strip() or None, name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, _, _ = self.get_field_value(field, field_name)
            if value is not None:
                values[field_name] = value
        return values


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every FORGE_* variable (from `env`, else the process environment);
    raise ConfigError naming the first bad one."""
    source = Variables(Settings, os.environ if env is None else env)
    try:
        return Settings(_build_sources=((source,), {}))
    except ValidationError as err:
        raise config_error(err) from None


def config_error(err: ValidationError) -> ConfigError:
    """The first problem of a failed validation, as one line naming its variable."""
    first = err.errors()[0]
    field_name = str(first["loc"][0])
    field = Settings.model_fields[field_name]
    return ConfigError(variable(field_name), _problem(first, echo=field.repr))


def _problem(error: ErrorDetails, echo: bool) -> str:
    """Pydantic's message in Forge's words; the value given only when it is no secret."""
    kind, context = error["type"], error.get("ctx", {})
    if kind == "value_error":
        return str(context["error"])
    if kind in ("int_parsing", "int_from_float", "int_type"):
        problem = "expected a whole number"
    elif kind in ("float_parsing", "float_type"):
        problem = "expected a number"
    elif kind == "greater_than_equal":
        problem = f"must be at least {context['ge']:g}"
    elif kind == "greater_than":
        problem = f"must be more than {context['gt']:g}"
    elif kind == "finite_number":
        problem = "must be a finite number"
    else:
        problem = error["msg"][:1].lower() + error["msg"][1:]
    return f"{problem}, got {error['input']!r}" if echo else problem


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


def _read_scanner_keys(path: str) -> tuple[ScannerKey, ...]:
    """The scanners' public keys, read from the file the operator names; never fetched."""
    try:
        document = json.loads(Path(path).read_text())
        entries = document["public_keys"]
        if not isinstance(entries, list):
            raise ValueError("public_keys must be a list")
        return tuple(_scanner_key(entry) for entry in entries)
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror}") from None
    except (KeyError, TypeError):
        raise ValueError(f"{path}: no public_keys list") from None
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
