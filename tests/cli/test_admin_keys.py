"""`forge admin keys list|show|roll|revoke` for the operator."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from forge.cli.main import app as cli
from forge.db import Database
from tests.factories import World
from tests.keys.helpers import bearer
from tests.processes import DEADLINE, FORGE, forge_env


@pytest.fixture
def run(database_url: str, database: Database, tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = {"FORGE_DATABASE_URL": database_url, "FORGE_DATA_DIR": str(tmp_path)}

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli, ["admin", "keys", *args], env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    return invoke


def test_show_of_an_unknown_key_fails_in_one_line(run) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = run("show", "key_nope")
    assert code == 2
    assert err.strip().count("\n") == 0 and "not_found" in err


def test_roll_refuses_a_grace_beyond_7_days(run, world: World) -> None:  # type: ignore[no-untyped-def]
    key = world.owner_key()
    code, _out, err = run("roll", key.id, "--grace", "8d")
    assert code == 2 and "--grace" in err


def test_list_and_show_never_print_a_secret(run, world: World) -> None:  # type: ignore[no-untyped-def]
    team = world.team()
    key = world.owner_key(team)
    token = world.service_token(team)
    code, out, _ = run("list", "--team", team.id, "--json")
    assert code == 0
    listed = json.loads(out)
    assert {k["id"] for k in listed} == {key.id, token.id}
    assert key.secret not in out and token.secret not in out
    code, out, _ = run("show", key.id)
    assert code == 0
    shown = json.loads(out)
    assert shown["prefix"] == key.prefix + "…"
    assert shown["secrets"][0]["status"] == "current"
    code, out, _ = run("list", "--team", team.id)  # a table for people, folded to the terminal
    assert code == 0 and "active" in out and key.secret not in out


def test_roll_prints_the_new_secret_once_and_keeps_the_old_in_grace(
    run,
    world: World,
    api: TestClient,  # type: ignore[no-untyped-def]
) -> None:
    key = world.owner_key()
    code, out, _ = run("roll", key.id, "--grace", "1h", "--json")
    assert code == 0
    rolled = json.loads(out)
    assert rolled["previous_prefix"] == key.prefix + "…"
    assert api.get("/v1/api-keys/self", headers=bearer(rolled["secret"])).status_code == 200
    assert api.get("/v1/api-keys/self", headers=key.headers).status_code == 200
    code, out, _ = run("roll", key.id, "--grace", "0s")
    assert code == 0
    assert api.get("/v1/api-keys/self", headers=bearer(rolled["secret"])).status_code == 401


def test_revoke_then_list_revoked(run, world: World, api: TestClient) -> None:  # type: ignore[no-untyped-def]
    team = world.team()
    key = world.owner_key(team)
    live_mode = world.owner_key(team, mode="live")  # not revoked: --active whatever its mode
    assert run("revoke", key.id)[0] == 0
    assert api.get("/v1/api-keys/self", headers=key.headers).status_code == 401
    code, out, _ = run("list", "--team", team.id, "--revoked", "--json")
    assert [k["id"] for k in json.loads(out)] == [key.id]
    code, out, _ = run("list", "--team", team.id, "--active", "--json")
    assert [k["id"] for k in json.loads(out)] == [live_mode.id]
    code, _out, err = run("list", "--team", team.id, "--live")
    assert code == 2 and "No such option: --live" in err, "--live is a mode, not a filter"
    code, _out, err = run("roll", key.id)
    assert code == 2 and "conflict" in err


def test_list_keeps_every_row_on_one_line_when_piped_narrow(
    world: World, database_url: str, tmp_path: Path
) -> None:
    """Piped, with $COLUMNS far narrower than a row (Rich laid the table out in 80 columns, or
    $COLUMNS, and folded ids across lines): each key is one line holding its whole id, prefix
    and expiry."""
    team = world.team()
    minted = [world.owner_key(team), world.service_token(team)]
    done = subprocess.run(
        [FORGE, "admin", "keys", "list", "--team", team.id],
        env=forge_env(database_url, tmp_path / "data", COLUMNS="40"),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=True,
    )
    listed = {k["id"]: k for k in json.loads(_list_json(team.id, database_url, tmp_path))}
    for key in minted:
        (line,) = [x for x in done.stdout.splitlines() if key.id in x]
        shown = listed[key.id]
        assert shown["prefix"] in line and shown["name"] in line and shown["expires_at"] in line
        assert line.rstrip().endswith("active │")


def _list_json(team_id: str, database_url: str, tmp_path: Path) -> str:
    return subprocess.run(
        [FORGE, "admin", "keys", "list", "--team", team_id, "--json"],
        env=forge_env(database_url, tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=True,
    ).stdout
