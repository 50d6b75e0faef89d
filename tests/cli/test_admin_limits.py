"""`forge admin limits set|show|clear` against the test database."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from forge.cli.main import app
from forge.db import Database
from forge.ratelimit import service
from tests.factories import World


@pytest.fixture
def forge(database_url: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FORGE_DATABASE_URL", database_url)
    monkeypatch.setenv("FORGE_DATA_DIR", str(tmp_path))
    return CliRunner()


def test_set_show_and_clear(forge: CliRunner, world: World, database: Database) -> None:
    team = world.team()
    key = world.owner_key(team)
    assert (
        forge.invoke(
            app,
            ["admin", "limits", "set", "--team", team.id, "--bucket", "create", "--limit", "50"],
        ).exit_code
        == 0
    )
    done = forge.invoke(
        app, ["admin", "limits", "set", "--key", key.id, "--bucket", "read", "--limit", "7"]
    )
    assert done.exit_code == 0, done.output
    assert "within 5 s" in done.output
    shown = forge.invoke(app, ["admin", "limits", "show", "--json"])
    document = json.loads(shown.stdout)
    assert document["defaults"]["create"] == 5
    assert {(o["scope"], o["id"], o["bucket"], o["limit"]) for o in document["overrides"]} == {
        ("team", team.id, "create", 50),
        ("key", key.id, "read", 7),
    }
    assert service.load_overrides(database)[("key", key.id, "read")] == 7
    cleared = forge.invoke(app, ["admin", "limits", "clear", "--team", team.id])
    assert cleared.exit_code == 0
    assert "1 override(s) removed" in cleared.output
    assert list(service.load_overrides(database)) == [("key", key.id, "read")]


@pytest.mark.parametrize(
    "args, problem",
    [
        (["set", "--bucket", "read", "--limit", "5"], "exactly one of --team or --key"),
        (["set", "--team", "team_x", "--bucket", "reads", "--limit", "5"], "--bucket"),
        (
            [
                "set",
                "--team",
                "team_01M84SAYFRPRJXJP4K8QBH8K1S",
                "--bucket",
                "read",
                "--limit",
                "5",
            ],
            "not_found",
        ),
        (["set", "--key", "key_x", "--bucket", "read", "--limit", "0"], "not_found"),
    ],
)
def test_bad_requests_fail_with_a_reason(
    forge: CliRunner, world: World, args: list[str], problem: str
) -> None:
    result = forge.invoke(app, ["admin", "limits", *args])
    assert result.exit_code == 2
    assert problem in result.stderr
