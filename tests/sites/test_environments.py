"""Environments: names unique per site, parents in the same site without cycles, hostnames
validated, normalised and unique platform-wide, origin URLs validated."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from forge.sites.models import Site
from forge.tenancy.models import Team
from tests.assertions import assert_error, data_of
from tests.factories import Key, World


@pytest.fixture
def site(world: World, team: Team) -> Site:
    return world.site(team)


class Envs:
    """The environments routes of one site, for one key."""

    def __init__(self, api: TestClient, key: Key, site_id: str) -> None:
        self.api, self.key, self.base = api, key, f"/v1/sites/{site_id}/environments"

    def _send(self, method: str, suffix: str = "", body: object = None) -> httpx.Response:
        url, headers = self.base + suffix, self.key.headers
        response: httpx.Response = self.api.request(method, url, headers=headers, json=body)
        return response

    def create(self, **body: object) -> httpx.Response:
        return self._send("POST", body=body)

    def made(self, **body: object) -> dict[str, Any]:
        made: dict[str, Any] = data_of(self.create(**body), 201)
        return made

    def patch(self, env_id: str, **body: object) -> httpx.Response:
        return self._send("PATCH", f"/{env_id}", body)

    def get(self, env_id: str) -> httpx.Response:
        return self._send("GET", f"/{env_id}")

    def delete(self, env_id: str) -> httpx.Response:
        return self._send("DELETE", f"/{env_id}")


@pytest.fixture
def envs(api: TestClient, key: Key, site: Site) -> Envs:
    return Envs(api, key, site.id)


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "Production", "prod_1", "-x", "x-", "a" * 64, "pro duction"])
def test_a_bad_name_is_422_naming_name(envs: Envs, name: str) -> None:
    assert_error(envs.create(name=name), 422, "validation_error", param="name")


def test_a_name_is_required(envs: Envs) -> None:
    assert_error(envs.create(), 422, "validation_error", param="name")


def test_a_name_taken_in_the_site_is_409(envs: Envs) -> None:
    envs.made(name="production")
    response = envs.create(name="production")
    assert_error(response, 409, "conflict", param="name")


def test_the_same_name_in_another_site_is_fine(
    api: TestClient, world: World, team: Team, key: Key, envs: Envs
) -> None:
    envs.made(name="production")
    Envs(api, key, world.site(team).id).made(name="production")


def test_renaming_onto_a_taken_name_is_409(envs: Envs) -> None:
    envs.made(name="production")
    staging = envs.made(name="staging")
    response = envs.patch(staging["id"], name="production")
    assert_error(response, 409, "conflict", param="name")
    assert data_of(envs.get(staging["id"]))["name"] == "staging"


def test_create_with_a_name_only(envs: Envs, site: Site) -> None:
    env = envs.made(name="production")
    assert env["object"] == "environment" and str(env["id"]).startswith("env_")
    assert env["site_id"] == site.id and env["mode"] == "test"
    assert (env["parent_id"], env["hostnames"], env["origin_url"]) == (None, [], None)
    assert data_of(envs.get(env["id"])) == env


def test_an_environment_takes_its_sites_mode(api: TestClient, world: World, team: Team) -> None:
    live_site = world.site(team, mode="live")
    env = Envs(api, world.owner_key(team, mode="live"), live_site.id).made(name="production")
    assert env["mode"] == "live"


def test_an_unknown_environment_is_404(envs: Envs) -> None:
    assert_error(envs.get("env_" + "0" * 26), 404, "not_found", param="env")


def test_an_unknown_site_is_404(api: TestClient, key: Key) -> None:
    missing = Envs(api, key, "site_" + "0" * 26)
    assert_error(missing.create(name="x"), 404, "not_found")
    response = api.get(f"{missing.base}", headers=key.headers)
    assert_error(response, 404, "not_found")


# --- parents --------------------------------------------------------------------------------


def test_a_parent_from_another_site_is_422_naming_parent(
    api: TestClient, world: World, team: Team, key: Key, envs: Envs
) -> None:
    elsewhere = Envs(api, key, world.site(team).id).made(name="production")
    response = envs.create(name="staging", parent=elsewhere["id"])
    assert_error(response, 422, "validation_error", param="parent")


@pytest.mark.parametrize("parent", ["env_" + "0" * 26, "nonsense", "site_" + "0" * 26, 7])
def test_an_unknown_or_malformed_parent_is_422(envs: Envs, parent: object) -> None:
    response = envs.create(name="staging", parent=parent)
    assert_error(response, 422, "validation_error", param="parent")


def test_a_parent_in_the_same_site(envs: Envs) -> None:
    production = envs.made(name="production")
    staging = envs.made(name="staging", parent=production["id"])
    assert staging["parent_id"] == production["id"]


def test_a_parent_of_itself_is_refused(envs: Envs) -> None:
    env = envs.made(name="production")
    response = envs.patch(env["id"], parent=env["id"])
    assert_error(response, 422, "validation_error", param="parent")


def test_a_cycle_through_a_chain_is_refused(envs: Envs) -> None:
    a = envs.made(name="a")
    b = envs.made(name="b", parent=a["id"])
    c = envs.made(name="c", parent=b["id"])
    response = envs.patch(a["id"], parent=c["id"])
    assert_error(response, 422, "validation_error", param="parent")
    assert data_of(envs.get(a["id"]))["parent_id"] is None


def test_parent_null_clears_and_absent_leaves_alone(envs: Envs) -> None:
    production = envs.made(name="production")
    staging = envs.made(name="staging", parent=production["id"])
    kept = data_of(envs.patch(staging["id"], origin_url="https://o.example.com"))
    assert kept["parent_id"] == production["id"]
    cleared = data_of(envs.patch(staging["id"], parent=None))
    assert cleared["parent_id"] is None
    assert cleared["origin_url"] == "https://o.example.com"


def test_deleting_a_parent_with_children_is_409(envs: Envs) -> None:
    production = envs.made(name="production")
    staging = envs.made(name="staging", parent=production["id"])
    error = assert_error(envs.delete(production["id"]), 409, "conflict")
    assert "staging" in error["message"]
    assert data_of(envs.get(production["id"]))
    assert data_of(envs.delete(staging["id"])) == {"id": staging["id"], "deleted": True}
    assert data_of(envs.delete(production["id"]))["deleted"] is True
    assert_error(envs.get(production["id"]), 404, "not_found")


# --- hostnames ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hostname",
    [
        "localhost",
        "*.example.com",
        "exa mple.com",
        "-bad.example.com",
        "bad-.example.com",
        "under_score.example.com",
        "https://example.com",
        "example.com/path",
        "example.com:8080",
        "ex\u00e4mple.com",
        ("a" * 64) + ".example.com",
        ".".join(["a" * 60] * 5),
        "",
    ],
)
def test_a_bad_hostname_is_422_naming_it(envs: Envs, hostname: str) -> None:
    response = envs.create(name="production", hostnames=["ok.example.com", hostname])
    assert_error(response, 422, "validation_error", param="hostnames.1")


def test_hostnames_are_normalised_and_deduplicated(envs: Envs) -> None:
    env = envs.made(
        name="production",
        hostnames=["WWW.Example.COM.", " shop.example.com ", "www.example.com"],
    )
    assert sorted(env["hostnames"]) == ["shop.example.com", "www.example.com"]


def test_more_than_100_hostnames_is_422(envs: Envs) -> None:
    names = [f"h{i}.example.com" for i in range(101)]
    assert_error(envs.create(name="p", hostnames=names), 422, "validation_error", param="hostnames")


def test_a_hostname_belongs_to_one_environment_platform_wide(
    api: TestClient, world: World, envs: Envs
) -> None:
    envs.made(name="production", hostnames=["www.example.com"])
    stranger_team = world.team()
    stranger = Envs(api, world.owner_key(stranger_team), world.site(stranger_team).id)
    for response in (
        stranger.create(name="production", hostnames=["WWW.example.com"]),
        envs.create(name="staging", hostnames=["www.example.com"]),
    ):
        error = assert_error(response, 409, "conflict", param="hostnames")
        assert "www.example.com" in error["message"]
    other = envs.made(name="staging")
    response = envs.patch(other["id"], hostnames=["www.example.com"])
    assert_error(response, 409, "conflict", param="hostnames")
    assert data_of(envs.get(other["id"]))["hostnames"] == []


def test_patch_replaces_hostnames_and_keeps_ones_it_already_has(envs: Envs) -> None:
    env = envs.made(name="production", hostnames=["www.example.com", "old.example.com"])
    patched = data_of(envs.patch(env["id"], hostnames=["www.example.com", "new.example.com"]))
    assert sorted(patched["hostnames"]) == ["new.example.com", "www.example.com"]
    stored = data_of(envs.get(env["id"]))
    assert sorted(stored["hostnames"]) == ["new.example.com", "www.example.com"]
    assert envs.create(name="other", hostnames=["old.example.com"]).status_code == 201


def test_patch_answers_what_a_read_answers(envs: Envs) -> None:
    env = envs.made(name="production", hostnames=["b.example.com"])
    patched = data_of(envs.patch(env["id"], hostnames=["z.example.com", "a.example.com"]))
    assert patched == data_of(envs.get(env["id"]))


def test_deleting_an_environment_frees_its_hostnames(envs: Envs) -> None:
    env = envs.made(name="production", hostnames=["www.example.com"])
    data_of(envs.delete(env["id"]))
    assert envs.made(name="again", hostnames=["www.example.com"])["hostnames"] == [
        "www.example.com"
    ]


# --- origin URLs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://origin.example.com",
        "origin.example.com",
        "/relative/path",
        "https://",
        "https://user:pass@origin.example.com",
        "https://origin.example.com/?q=1",
        "https://origin.example.com/#frag",
        "javascript:alert(1)",
        "https://origin.example.com/" + "a" * 2048,
        "",
    ],
)
def test_a_bad_origin_url_is_422_naming_it(envs: Envs, url: str) -> None:
    response = envs.create(name="production", origin_url=url)
    assert_error(response, 422, "validation_error", param="origin_url")


@pytest.mark.parametrize("url", ["http://exa mple.com", "https://-bad-.example.com/"])
def test_an_origin_url_with_an_invalid_host_is_422(envs: Envs, url: str) -> None:
    response = envs.create(name="production", origin_url=url)
    assert_error(response, 422, "validation_error", param="origin_url")


@pytest.mark.parametrize(
    "url", ["https://origin.example.com", "http://10.0.0.5:8080/app", "https://[2001:db8::1]/"]
)
def test_good_origin_urls_are_kept(envs: Envs, url: str) -> None:
    assert envs.made(name="production", origin_url=url)["origin_url"] == url


def test_origin_url_null_clears_it(envs: Envs) -> None:
    env = envs.made(name="production", origin_url="https://origin.example.com")
    assert data_of(envs.patch(env["id"], origin_url=None))["origin_url"] is None


def test_patch_refuses_unknown_fields(envs: Envs) -> None:
    env = envs.made(name="production")
    response = envs.patch(env["id"], site_id="site_" + "0" * 26)
    assert_error(response, 422, "validation_error", param="site_id")


def test_a_refused_patch_changes_nothing(envs: Envs) -> None:
    parent = envs.made(name="production", hostnames=["www.example.com"])
    child = envs.made(name="staging", parent=parent["id"])
    response = envs.patch(
        parent["id"], name="renamed", hostnames=["new.example.com"], parent=child["id"]
    )
    assert_error(response, 422, "validation_error", param="parent")
    after = data_of(envs.get(parent["id"]))
    assert (after["name"], after["hostnames"], after["parent_id"]) == (
        "production",
        ["www.example.com"],
        None,
    )
    assert envs.made(name="other", hostnames=["new.example.com"])["hostnames"] == [
        "new.example.com"
    ]
