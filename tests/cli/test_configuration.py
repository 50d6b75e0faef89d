"""Bad configuration stops every command with one line naming the variable."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import Forge
from tests.ports import free_port
from tests.processes import FORGE, forge_env

BAD = [
    ("FORGE_RATELIMIT_READ", "abc"),
    ("FORGE_RATELIMIT_WRITE", "0"),
    ("FORGE_RATELIMIT_CREATE", "-5"),
    ("FORGE_TRUSTED_PROXIES", "nonsense"),
    ("FORGE_DATABASE_URL", "mysql://x"),
    ("FORGE_REDIS_URL", "http://cache:6379"),
    ("FORGE_MAX_BODY_BYTES", "1MB"),
]


@pytest.mark.parametrize(("variable", "value"), BAD)
@pytest.mark.parametrize(
    "command",
    [
        ["init"],
        ["init", "--json"],
        ["migrate"],
        ["serve", "--port", "1"],
        [
            "admin",
            "keys",
            "create",
            "--owner",
            "team_x",
            "--mode",
            "test",
            "--scopes",
            "sites:read",
        ],
        ["admin", "clients", "deactivate", "cli_x"],
    ],
)
def test_a_bad_variable_stops_the_command_with_one_line(
    forge: Forge, variable: str, value: str, command: list[str]
) -> None:
    result = forge(*command, env={variable: value})
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr
    assert result.stdout == ""


def test_a_data_dir_that_is_a_file_is_named(forge: Forge, tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("not a directory")
    result = forge("init", env={"FORGE_DATA_DIR": str(a_file)})
    assert result.exit_code != 0
    assert "FORGE_DATA_DIR" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "url",
    ["postgresql://postgres@127.0.0.1:1/forge", "sqlite:////nonexistent-forge-dir/x/forge.db"],
)
def test_an_unreachable_database_is_named(forge: Forge, url: str) -> None:
    result = forge("migrate", env={"FORGE_DATABASE_URL": url})
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "FORGE_DATABASE_URL" in lines[0], result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("FORGE_MAX_CONNECTIONS", "lots", "expected a whole number, got 'lots'"),
        ("FORGE_REDIS_URL", "localhost:6379", "expected a redis://, rediss:// or unix:// URL"),
        ("FORGE_WORKER_IN_PROCESS", "sometimes", "expected on, off or auto, got 'sometimes'"),
    ],
)
def test_forge_serve_stops_on_a_bad_value_with_one_line(
    database_url: str, tmp_path: Path, variable: str, value: str, problem: str
) -> None:
    """The real process, as an operator starts it: exit code 2, one line on stderr naming the
    variable, nothing on stdout, and nothing listening."""
    port = free_port()
    env = forge_env(database_url, tmp_path / "data", **{variable: value})
    started = subprocess.run(
        [FORGE, "serve", "--port", str(port), "--edge-port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2
    assert started.stderr == f"forge: bad configuration: {variable}: {problem}\n"
    assert started.stdout == ""
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_a_secret_is_never_echoed_in_the_one_line(forge: Forge) -> None:
    secret = "s3cret-but-too-short"
    result = forge("serve", "--port", "1", env={"FORGE_VARNISH_SECRET": secret})
    assert result.exit_code == 2
    assert result.stderr.startswith("forge: bad configuration: FORGE_VARNISH_SECRET: ")
    assert secret not in result.stderr
