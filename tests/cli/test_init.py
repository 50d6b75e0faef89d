"""`forge init`: idempotent first-run defaults, and the first key printed exactly once."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from starlette.testclient import TestClient

from forge.db import Database
from forge.keys import scopes as catalogue
from forge.keys.models import ApiKey
from tests.assertions import data_of
from tests.cli.conftest import Forge
from tests.factories import bearer

ID = r"^{}_[0-9A-HJKMNP-TV-Z]{{26}}$"


def test_init_json_prints_one_object_with_the_documented_fields(forge: Forge) -> None:
    out = forge.json("init")
    assert set(out) == {"team", "client", "project", "sites", "key"}
    assert set(out["team"]) == {"id", "slug"} and re.match(ID.format("team"), out["team"]["id"])
    assert set(out["client"]) == {"id", "email"} and re.match(ID.format("cli"), out["client"]["id"])
    assert set(out["project"]) == {"id", "slug"}
    assert re.match(ID.format("proj"), out["project"]["id"])
    (site,) = out["sites"]
    assert set(site) == {"id", "slug", "mode", "environments"} and site["mode"] == "test"
    assert [e["name"] for e in site["environments"]] == ["production", "staging"]
    assert all(re.match(ID.format("env"), e["id"]) for e in site["environments"])
    key = out["key"]
    assert set(key) == {"id", "secret", "prefix", "scopes"}
    assert re.match(r"^mfk_test_[0-9A-Za-z]{36}$", key["secret"])
    assert key["secret"].startswith(key["prefix"].rstrip("…"))
    assert sorted(key["scopes"]) == sorted(catalogue.ALL_SCOPES)


def test_the_first_key_works_against_the_api(forge: Forge, api: TestClient) -> None:
    out = forge.json("init")
    headers = bearer(out["key"]["secret"])
    site = out["sites"][0]
    assert data_of(api.get(f"/v1/sites/{site['id']}", headers=headers))["slug"] == site["slug"]
    envs = data_of(api.get(f"/v1/sites/{site['id']}/environments", headers=headers))
    assert sorted(e["name"] for e in envs) == ["production", "staging"]
    assert data_of(api.get(f"/v1/teams/{out['team']['id']}", headers=headers))


def test_a_second_run_finds_the_same_things_and_shows_no_secret(
    forge: Forge, database: Database
) -> None:
    first = forge.json("init")
    second = forge.json("init")
    assert second["key"]["secret"] is None
    first["key"]["secret"] = None
    assert second == first
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(ApiKey)) == 1


def test_human_output_shows_the_secret_on_the_first_run_only(forge: Forge) -> None:
    first = forge("init")
    assert first.exit_code == 0, first.stderr
    secrets = re.findall(r"mfk_test_[0-9A-Za-z]{36}", first.stdout)
    assert len(secrets) == 1
    second = forge("init")
    assert second.exit_code == 0
    assert secrets[0] not in second.stdout
    assert not re.search(r"mfk_test_[0-9A-Za-z]{36}", second.stdout)


def test_migrate_is_idempotent(forge: Forge) -> None:
    for _ in range(2):
        result = forge("migrate")
        assert result.exit_code == 0, result.stderr
