"""`forge admin clients …` and `forge admin keys …`: the operator's door."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import Result

from forge.db import Database
from forge.keys.models import ApiKey
from forge.tenancy.models import Client, Membership, Team
from tests.assertions import assert_error, data_of
from tests.cli.conftest import Forge
from tests.factories import World, bearer

NO_CLIENT, NO_TEAM, NO_KEY = "cli_" + "0" * 26, "team_" + "0" * 26, "key_" + "0" * 26


def new_client(team_id: str, email: str, role: str) -> tuple[str, ...]:
    return ("admin", "clients", "create", "--team", team_id, "--email", email, "--role", role)


def new_key(owner: str, scopes: str, mode: str = "test") -> tuple[str, ...]:
    return ("admin", "keys", "create", "--owner", owner, "--mode", mode, "--scopes", scopes)


def assert_one_line_failure(result: Result, *words: str) -> None:
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.output


# --- clients --------------------------------------------------------------------------------


def test_clients_create_refuses_a_bad_role(forge: Forge, team: Team) -> None:
    assert_one_line_failure(forge(*new_client(team.id, "a@x.io", "superuser")), "role")


@pytest.mark.parametrize(
    "email", ["notanemail", "a@localhost", "a b@x.io", "a@127.0.0.1", "@x.io", "a@x.io\n", ""]
)
def test_clients_create_refuses_what_is_not_an_email_address(
    forge: Forge, team: Team, database: Database, email: str
) -> None:
    result = forge(*new_client(team.id, email, "member"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"forge: validation_error: email {email!r} is not an email")
    assert_one_line_failure(result)
    with database.session() as session:
        assert session.scalars(select(Client)).all() == []
        assert session.scalars(select(Membership)).all() == []


def test_clients_create_stores_the_domain_lower_cased(forge: Forge, team: Team) -> None:
    out = forge.json(*new_client(team.id, "Ada.L@Example.COM", "member"))
    assert out["email"] == "Ada.L@example.com"
    again = forge(*new_client(team.id, "Ada.L@example.com", "viewer"))
    assert_one_line_failure(again, "conflict", "Ada.L@example.com")


def test_clients_create_refuses_an_unknown_team(forge: Forge) -> None:
    assert_one_line_failure(forge(*new_client(NO_TEAM, "a@x.io", "member")), "not_found")


def test_clients_create_refuses_a_second_membership(forge: Forge, team: Team) -> None:
    assert forge(*new_client(team.id, "a@x.io", "admin")).exit_code == 0
    assert_one_line_failure(forge(*new_client(team.id, "a@x.io", "viewer")), "conflict")


def test_clients_create_json(forge: Forge, team: Team) -> None:
    out = forge.json(*new_client(team.id, "a@x.io", "member"))
    assert re.match(r"^cli_[0-9A-Z]{26}$", out["id"])
    assert (out["email"], out["team_id"], out["role"], out["active"]) == (
        "a@x.io",
        team.id,
        "member",
        True,
    )


def test_clients_create_says_so_on_one_line_however_long(forge: Forge, team: Team) -> None:
    """Not a terminal: no width to break the line at (Rich's 80 would split it between ids)."""
    email = "someone.with.a.long.address@subdomain.example.com"
    result = forge(*new_client(team.id, email, "member"))
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert re.fullmatch(rf"client cli_[0-9A-Z]{{26}} \({email}\) is member of {team.id}", line)


def test_clients_deactivate_refuses_an_unknown_client(forge: Forge) -> None:
    assert_one_line_failure(forge("admin", "clients", "deactivate", NO_CLIENT), "not_found")


def test_clients_deactivate_stops_personal_keys_but_not_service_tokens(
    forge: Forge, team: Team, api: TestClient
) -> None:
    client = forge.json(*new_client(team.id, "b@x.io", "admin"))
    personal = forge.json(*new_key(client["id"], "sites:read"))
    service = forge.json(*new_key(team.id, "sites:read"))
    assert api.get("/v1/sites", headers=bearer(personal["secret"])).status_code == 200
    result = forge("admin", "clients", "deactivate", client["id"])
    assert result.exit_code == 0, result.stderr
    assert_error(api.get("/v1/sites", headers=bearer(personal["secret"])), 401, "authentication")
    assert api.get("/v1/sites", headers=bearer(service["secret"])).status_code == 200


# --- keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "word"),
    [
        (("--mode", "prod", "--scopes", "sites:read"), "--mode"),
        (("--mode", "test", "--scopes", "sites:read,sites:destroy"), "sites:destroy"),
        (("--mode", "test", "--scopes", "everything"), "everything"),
    ],
)
def test_keys_create_refuses_bad_options(
    forge: Forge, team: Team, options: tuple[str, ...], word: str
) -> None:
    result = forge("admin", "keys", "create", "--owner", team.id, *options)
    assert_one_line_failure(result, word)


@pytest.mark.parametrize("owner", [NO_CLIENT, NO_TEAM])
def test_keys_create_refuses_an_unknown_owner(forge: Forge, owner: str) -> None:
    assert_one_line_failure(forge(*new_key(owner, "sites:read")), "not_found")


def test_keys_revoke_refuses_an_unknown_key(forge: Forge) -> None:
    assert_one_line_failure(forge("admin", "keys", "revoke", NO_KEY), "not_found")


def test_a_client_owner_mints_a_personal_key(forge: Forge, world: World, team: Team) -> None:
    owner = world.member(team, "owner")
    out = forge.json(*new_key(owner.id, "teams:read,sites:read", mode="live"), "--name", "ops")
    assert re.match(r"^mfk_live_[0-9A-Za-z]{36}$", out["secret"])
    assert out["scopes"] == ["sites:read", "teams:read"] and out["name"] == "ops"
    assert out["mode"] == "live" and out["id"].startswith("key_")
    assert out["secret"].startswith(out["prefix"].rstrip("…"))
    assert out["expires_at"].endswith("Z") and out["created_at"].endswith("Z")


def test_a_team_owner_mints_a_service_token_that_acts_as_the_team(
    forge: Forge, world: World, team: Team, api: TestClient
) -> None:
    site = world.site(team)
    out = forge.json(*new_key(team.id, "sites:read,teams:read"))
    assert re.match(r"^mfs_test_[0-9A-Za-z]{36}$", out["secret"])
    headers = bearer(out["secret"])
    assert data_of(api.get(f"/v1/sites/{site.id}", headers=headers))["id"] == site.id
    refused = api.post("/v1/sites", headers=headers, json={"slug": "x"})
    assert assert_error(refused, 403, "insufficient_scope")["key_scopes"] == [
        "sites:read",
        "teams:read",
    ]


@pytest.mark.parametrize("scopes", ["sites:read,secrets:set-value", "full-access"])
def test_a_service_token_is_never_minted_with_a_scope_it_can_never_use(
    forge: Forge, team: Team, database: Database, scopes: str
) -> None:
    result = forge(*new_key(team.id, scopes))
    assert result.exit_code == 2
    assert result.stderr == (
        "forge: validation_error: scopes: a service token acts as its team and can never use "
        "secrets:set-value (setting secret values stays with people's keys).\n"
    )
    with database.session() as session:
        assert session.scalars(select(ApiKey)).all() == []


def test_a_preset_expands(forge: Forge, team: Team) -> None:
    scopes = forge.json(*new_key(team.id, "read-only"))["scopes"]
    assert "sites:read" in scopes and not any(s.endswith(":write") for s in scopes)


def test_keys_revoke_stops_the_key_on_the_next_request(
    forge: Forge, team: Team, api: TestClient
) -> None:
    out = forge.json(*new_key(team.id, "sites:read"))
    assert api.get("/v1/sites", headers=bearer(out["secret"])).status_code == 200
    result = forge("admin", "keys", "revoke", out["id"])
    assert result.exit_code == 0, result.stderr
    assert out["secret"] not in result.output
    assert_error(api.get("/v1/sites", headers=bearer(out["secret"])), 401, "authentication")
    assert forge("admin", "keys", "revoke", out["id"]).exit_code == 0, "revoking twice is fine"
