"""`forge.config.load_settings`: documented defaults, and each bad variable named."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from forge.config import DEFAULT_MAX_BODY_BYTES, ConfigError, load_settings


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.data_dir == (tmp_path / ".forge").resolve()
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / '.forge' / 'forge.db'}"
    assert settings.is_sqlite
    assert settings.redis_url is None
    assert (settings.ratelimit_read, settings.ratelimit_write, settings.ratelimit_create) == (
        1000,
        100,
        5,
    )
    assert settings.trusted_proxies == ()
    assert settings.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1024 * 1024


def test_blank_values_mean_the_default(tmp_path: Path) -> None:
    settings = load_settings(
        {"FORGE_DATA_DIR": str(tmp_path), "FORGE_RATELIMIT_READ": "  ", "FORGE_REDIS_URL": ""}
    )
    assert settings.ratelimit_read == 1000 and settings.redis_url is None


def test_the_database_lives_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"FORGE_DATA_DIR": str(tmp_path / "d")})
    assert settings.database_url == f"sqlite:///{tmp_path / 'd' / 'forge.db'}"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u@db:5432/forge", "postgresql+psycopg://u@db:5432/forge"),
        ("postgres://u@db/forge", "postgresql+psycopg://u@db/forge"),
        ("postgresql+psycopg://u@db/forge", "postgresql+psycopg://u@db/forge"),
        ("sqlite:////var/lib/forge.db", "sqlite:////var/lib/forge.db"),
    ],
)
def test_database_urls(tmp_path: Path, given: str, used: str) -> None:
    settings = load_settings({"FORGE_DATA_DIR": str(tmp_path), "FORGE_DATABASE_URL": given})
    assert settings.database_url == used
    assert settings.is_sqlite is used.startswith("sqlite")


def test_explicit_values(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "FORGE_DATA_DIR": str(tmp_path),
            "FORGE_REDIS_URL": "redis://127.0.0.1:6379/0",
            "FORGE_RATELIMIT_READ": "10",
            "FORGE_RATELIMIT_WRITE": "20",
            "FORGE_RATELIMIT_CREATE": "30",
            "FORGE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1 ,2001:db8::/32",
            "FORGE_MAX_BODY_BYTES": "2048",
        }
    )
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert (settings.ratelimit_read, settings.ratelimit_write, settings.ratelimit_create) == (
        10,
        20,
        30,
    )
    assert settings.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.1/32"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    assert settings.max_body_bytes == 2048


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FORGE_RATELIMIT_READ", "abc"),
        ("FORGE_RATELIMIT_READ", "0"),
        ("FORGE_RATELIMIT_WRITE", "-1"),
        ("FORGE_RATELIMIT_WRITE", "1.5"),
        ("FORGE_RATELIMIT_CREATE", "five"),
        ("FORGE_TRUSTED_PROXIES", "nonsense"),
        ("FORGE_TRUSTED_PROXIES", "10.0.0.0/8,300.1.1.1"),
        ("FORGE_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("FORGE_DATABASE_URL", "mysql://x"),
        ("FORGE_DATABASE_URL", "not a url"),
        ("FORGE_REDIS_URL", "http://cache:6379"),
        ("FORGE_REDIS_URL", "localhost:6379"),
        ("FORGE_MAX_BODY_BYTES", "0"),
        ("FORGE_MAX_BODY_BYTES", "1MB"),
        ("FORGE_JOB_LEASE_SECONDS", "1e3"),
        ("FORGE_WORKER_IN_PROCESS", "sometimes"),
        ("FORGE_EDGE_ORIGIN_TIMEOUT", "inf"),
        ("FORGE_EDGE_CONNECT_TIMEOUT", "0"),
        ("FORGE_VARNISH_SECRET", "short"),
    ],
)
def test_a_bad_variable_is_named_in_one_line(tmp_path: Path, variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"FORGE_DATA_DIR": str(tmp_path), variable: value})
    assert caught.value.variable == variable
    message = str(caught.value)
    assert message.startswith(f"{variable}:") and "\n" not in message


def test_a_data_dir_that_is_a_file(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ConfigError) as caught:
        load_settings({"FORGE_DATA_DIR": str(a_file)})
    assert caught.value.variable == "FORGE_DATA_DIR"


@pytest.mark.parametrize("value", ["postgresql", "postgres", "sqlite"])
def test_a_database_url_without_a_scheme_separator(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"FORGE_DATA_DIR": str(tmp_path), "FORGE_DATABASE_URL": value})
    assert caught.value.variable == "FORGE_DATABASE_URL"


@pytest.mark.parametrize(
    ("value", "runs_it"), [("on", True), ("OFF", False), ("auto", None), ("yes", True)]
)
def test_the_in_process_worker_switch(tmp_path: Path, value: str, runs_it: bool | None) -> None:
    settings = load_settings({"FORGE_DATA_DIR": str(tmp_path), "FORGE_WORKER_IN_PROCESS": value})
    assert settings.worker_in_process is runs_it
    assert settings.runs_worker_in_process is (True if runs_it is None else runs_it)  # SQLite


def test_only_the_environment_given_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORGE_RATELIMIT_READ", "7")
    assert load_settings({"FORGE_DATA_DIR": str(tmp_path)}).ratelimit_read == 1000
    assert load_settings().ratelimit_read == 7
    # Names are exact: a lower-case spelling is not FORGE_RATELIMIT_WRITE.
    assert load_settings({"forge_ratelimit_write": "3"}).ratelimit_write == 100
