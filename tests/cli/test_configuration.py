"""Bad configuration stops every command with one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Forge

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
