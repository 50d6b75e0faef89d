"""`/v1/openapi.json` agrees with what the server does: each answer below is checked against the
operation's documented response (status, body schema), and each rule the server enforces on an
input is in the schema, exactly (a key's body rules: tests/keys/test_openapi_rules.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.documented import (
    assert_documented,
    matches,
    parameter,
    untitled,
    validator,
)
from tests.factories import SecretsWorld, World, redirects_path, secrets_path

# a. A replayed create or roll answers without `secret` --------------------------------------------


def test_a_replayed_create_answers_as_documented(
    api: TestClient, world: World, document: dict[str, Any]
) -> None:
    key = world.owner_key()
    headers = {**key.headers, "Idempotency-Key": "create-bot-1"}
    body = {"name": "bot", "scopes": ["sites:read"]}
    first = api.post("/v1/api-keys", headers=headers, json=body)
    replay = api.post("/v1/api-keys", headers=headers, json=body)
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers["idempotent-replayed"] == "true"
    assert first.json()["data"]["secret"].startswith("mfk_test_")
    assert "secret" not in replay.json()["data"]
    assert_documented(document, "POST", "/v1/api-keys", first)
    assert_documented(document, "POST", "/v1/api-keys", replay)


def test_a_replayed_roll_answers_as_documented(
    api: TestClient, world: World, document: dict[str, Any]
) -> None:
    key = world.owner_key()
    headers = {**key.headers, "Idempotency-Key": "roll-1"}
    path = f"/v1/api-keys/{key.id}/roll"  # the old secret works on for an hour: the replay
    first = api.post(path, headers=headers, json={"grace": "1h"})
    replay = api.post(path, headers=headers, json={"grace": "1h"})
    assert (first.status_code, replay.status_code) == (200, 200)
    assert "secret" not in replay.json()["data"]
    assert_documented(document, "POST", "/v1/api-keys/{id}/roll", first)
    assert_documented(document, "POST", "/v1/api-keys/{id}/roll", replay)


def test_the_schema_says_a_replay_omits_the_secret(document: dict[str, Any]) -> None:
    for name in ("KeyCreated", "KeyRolled"):
        schema = document["components"]["schemas"][name]
        assert "secret" not in schema["required"], name
        assert "Absent from an idempotent replay" in schema["properties"]["secret"]["description"]


# d. An empty Forge-Version ------------------------------------------------------------------------


def test_an_empty_version_is_outside_the_documented_enum_and_refused(
    api: TestClient, world: World, document: dict[str, Any]
) -> None:
    schema = parameter(document, "GET", "/v1/sites", "Forge-Version")["schema"]
    assert not matches(schema, "")
    key = world.owner_key()
    response = api.get("/v1/sites", headers={**key.headers, "Forge-Version": ""})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Forge-Version"
    assert_documented(document, "GET", "/v1/sites", response)


def test_an_absent_version_is_the_latest(api: TestClient, world: World) -> None:
    key = world.owner_key()
    response = api.get("/v1/sites", headers=key.headers)
    assert response.status_code == 200
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", response.headers["forge-version"])


# b. The Idempotency-Key header and secret names, declared as enforced -----------------------------

IDEMPOTENCY_KEYS = ["a", " a b ", "~" * 255, "~" * 256, "", "\t", "a\x7f", "\xe9", "a\x00"]


@pytest.mark.parametrize("value", IDEMPOTENCY_KEYS)
def test_the_idempotency_key_schema_is_the_rule(
    api: TestClient, world: World, document: dict[str, Any], value: str
) -> None:
    schema = parameter(document, "POST", "/v1/projects", "Idempotency-Key")["schema"]
    key = world.owner_key()
    headers = {**key.headers, "Idempotency-Key": value.encode("latin-1")}
    response = api.post("/v1/projects", headers=headers, json={"slug": "web"})
    assert response.status_code == (201 if matches(schema, value) else 400), response.text
    assert_documented(document, "POST", "/v1/projects", response)


SECRET_NAMES = [
    "A",
    "_",
    "A_1",
    "FORGE",
    "FORGEX",
    "FORGE_X",
    "a",
    "1A",
    "A-B",
    "A" * 256,
    "A" * 257,
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_the_secret_name_schema_is_the_rule(
    api: TestClient, w: SecretsWorld, document: dict[str, Any], name: str
) -> None:
    """In a path (an unknown name is a 404, a malformed one a 422) and in a body alike."""
    template = "/v1/sites/{site}/environments/{env}/secrets"
    in_path = parameter(document, "GET", template + "/{key}", "key")["schema"]
    read = api.get(secrets_path(w.env, name), headers=w.owner.headers)
    assert read.status_code == (404 if matches(in_path, name) else 422), read.text
    assert_documented(document, "GET", template + "/{key}", read)
    declare = document["components"]["schemas"]["SecretDeclare"]["properties"]["key"]
    created = api.post(secrets_path(w.env), headers=w.owner.headers, json={"key": name})
    assert created.status_code == (201 if matches(declare, name) else 422), created.text
    compat = parameter(document, "GET", "/{o}/{p}/envs/{envName}/secrets/{name}", "name")
    assert untitled(compat["schema"]) == untitled(in_path) == untitled(declare)


# e. The probes' 400 -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
@pytest.mark.parametrize(
    "refused", [{"headers": {"Forge-Version": "1999-01-01"}}, {"params": {"token": "x"}}]
)
def test_a_probe_refuses_as_documented(
    api: TestClient, document: dict[str, Any], path: str, refused: dict[str, Any]
) -> None:
    """A probe still passes the contract (the version header, no key in a query): its 400
    is declared, in the /v1 error shape."""
    response = api.get(path, **refused)
    assert response.status_code == 400
    assert_documented(document, "GET", path, response)


# f. Every status an operation can answer is declared ----------------------------------------------

EVERY_OPERATION = {"400", "431", "503"}
AUTHENTICATED = {"401", "403", "404", "422", "429", "500"}
WITH_A_BODY = {"413", "415"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_declares_what_the_contract_can_answer(document: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in _operations(document):
        expected = set(EVERY_OPERATION)
        if operation.get("security"):
            expected |= AUTHENTICATED | ({"409"} if method != "GET" else set())
            expected |= WITH_A_BODY if method in ("POST", "PUT", "PATCH", "DELETE") else set()
        if any(p["name"] == "If-Match" for p in operation["parameters"]):
            expected.add("412")
        missing += [(method, path, s) for s in sorted(expected - set(operation["responses"]))]
    assert missing == []


def test_405_is_declared_once_with_its_allow_header(document: dict[str, Any]) -> None:
    declared = document["components"]["responses"]["MethodNotAllowed"]
    assert declared["headers"]["Allow"]["schema"] == {"type": "string"}
    assert declared["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }


def test_a_stale_if_match_answers_a_declared_412(
    api: TestClient, w: SecretsWorld, document: dict[str, Any]
) -> None:
    headers = {**w.owner.headers, "If-Match": '"v9"'}
    response = api.put(redirects_path(w.env), headers=headers, json={"rules": []})
    assert response.status_code == 412
    assert_documented(document, "PUT", "/v1/sites/{site}/environments/{env}/redirects", response)


def _team_path(w: SecretsWorld) -> str:
    return f"/{w.team.slug}/{w.site.slug}/envs/{w.env.name}/secrets"


TEAM_PATHS = "/{o}/{p}/envs/{envName}/secrets"


def test_the_team_path_surface_answers_declared_413_and_415(
    api_with: Callable[..., TestClient], w: SecretsWorld, document: dict[str, Any]
) -> None:
    api = api_with(max_body_bytes=64)
    body = {"kind": "Secret", "name": "A", "description": "x" * 100}
    too_large = api.post(_team_path(w), headers=w.owner.headers, json=body)
    assert too_large.status_code == 413
    assert_documented(document, "POST", TEAM_PATHS, too_large)
    headers = {**w.owner.headers, "Content-Type": "text/plain"}
    not_json = api.post(_team_path(w), headers=headers, content=b"kind=Secret")
    assert not_json.status_code == 415
    assert_documented(document, "POST", TEAM_PATHS, not_json)


def test_the_team_path_surface_answers_a_declared_429(
    api_with: Callable[..., TestClient], w: SecretsWorld, document: dict[str, Any]
) -> None:
    api = api_with(ratelimit_read=1)
    assert api.get(_team_path(w), headers=w.owner.headers).status_code == 200
    limited = api.get(_team_path(w), headers=w.owner.headers)
    assert limited.status_code == 429
    assert_documented(document, "GET", TEAM_PATHS, limited)


# g. A 405's Allow lists exactly the path's methods ------------------------------------------------

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _filled(template: str, w: SecretsWorld, key_id: str) -> str:
    values = {
        "site": w.site.id,
        "env": w.env.id,
        "team": w.team.id,
        "id": key_id,
        "key": "A",
        "name": "A",
        "o": w.team.slug,
        "p": w.site.slug,
        "envName": w.env.name,
    }
    return re.sub(r"{([^}]+)}", lambda m: values.get(m.group(1), "1"), template)


def test_every_path_answers_other_methods_405_allowing_exactly_its_own(
    api: TestClient, w: SecretsWorld, document: dict[str, Any]
) -> None:
    wrong = []
    for template, item in document["paths"].items():
        declared = {m.upper() for m in item}
        allow = ", ".join(sorted(declared | ({"HEAD"} if "GET" in declared else set())))
        path = _filled(template, w, w.owner.id)
        for method in sorted(set(METHODS) - declared):
            response = api.request(method, path, headers=w.owner.headers)
            if (response.status_code, response.headers.get("allow")) != (405, allow):
                wrong.append(
                    (method, template, response.status_code, response.headers.get("allow"))
                )
    assert wrong == []


LITERAL_PATHS = {"/api-keys/self": "GET, HEAD", "/compare": "GET, HEAD", "/import": "POST"}


@pytest.mark.parametrize(
    ("tail", "method"),
    [(tail, m) for tail, allow in LITERAL_PATHS.items() for m in METHODS if m not in allow],
)
def test_a_literal_path_is_never_taken_for_its_templated_sibling(
    api: TestClient, w: SecretsWorld, document: dict[str, Any], tail: str, method: str
) -> None:
    """`PATCH /v1/api-keys/self` is no update of a key named "self": that path has GET only."""
    path = "/v1" + tail if tail.startswith("/api-keys") else secrets_path(w.env) + tail
    response = api.request(method, path, headers=w.owner.headers, json={})
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == LITERAL_PATHS[tail]
    assert response.json()["error"]["code"] == "method_not_allowed"
    declared = document["components"]["responses"]["MethodNotAllowed"]
    schema = declared["content"]["application/json"]["schema"]
    assert validator(document, schema).is_valid(response.json())


# Found by the stateful campaign: a rule on a real team's setting ---------------------------------


@pytest.mark.parametrize("roles", [["admin"], ["member", "admin"]])
def test_value_setter_roles_without_owner_are_schema_invalid_and_refused(
    api: TestClient, w: SecretsWorld, document: dict[str, Any], roles: list[str]
) -> None:
    schema = document["components"]["schemas"]["TeamUpdate"]
    assert not validator(document, schema).is_valid({"secret_value_roles": roles})
    body = {"secret_value_roles": roles}
    response = api.patch(f"/v1/teams/{w.team.id}", headers=w.owner.headers, json=body)
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "secret_value_roles"
    assert_documented(document, "PATCH", "/v1/teams/{team}", response)


HOSTNAMES = ["example.com", "Shop.Example.COM.", "a.b", "1.2.3.4", "a.123", "a.12b", "-a.com"]
HOSTNAMES += [
    "a..com",
    "a.com\n",
    " a.com\t",
    "\u00a0a.com",
    "\u212a.example.com",
    "a" * 64 + ".com",
]


@pytest.mark.parametrize("hostname", HOSTNAMES)
def test_a_hostname_is_schema_valid_exactly_when_accepted(
    api: TestClient, w: SecretsWorld, document: dict[str, Any], hostname: str
) -> None:
    template = "/v1/sites/{site}/environments/{env}"
    schema = document["components"]["schemas"]["EnvironmentUpdate"]["properties"]["hostnames"]
    items = next(option for option in schema["anyOf"] if option["type"] == "array")["items"]
    path = f"/v1/sites/{w.site.id}/environments/{w.env.id}"
    response = api.patch(path, headers=w.owner.headers, json={"hostnames": [hostname]})
    assert response.status_code == (200 if matches(items, hostname) else 422), response.text
    assert_documented(document, "PATCH", template, response)


ORIGINS = ["https://origin.example.com", "http://localhost:8080/x", "http://[::1]:80/"]
ORIGINS += ["HTTPS://A.COM", "http://a.com:65536", "http://a.com:080", "http://u@a.com"]
ORIGINS += ["http://a.com/?q", "ftp://a.com", "http://a.123/", "__proto__", "http://a.com/ x"]


@pytest.mark.parametrize("origin", ORIGINS)
def test_an_origin_url_is_schema_valid_exactly_when_accepted(
    api: TestClient, w: SecretsWorld, document: dict[str, Any], origin: str
) -> None:
    schema = document["components"]["schemas"]["EnvironmentUpdate"]["properties"]["origin_url"]
    url = next(option for option in schema["anyOf"] if option["type"] == "string")
    path = f"/v1/sites/{w.site.id}/environments/{w.env.id}"
    response = api.patch(path, headers=w.owner.headers, json={"origin_url": origin})
    assert response.status_code == (200 if matches(url, origin) else 422), response.text


# Found by the long campaign on PostgreSQL: NUL in a query value (the driver's error, a 500) --


@pytest.mark.parametrize(
    ("path", "query"),
    [("/v1/audit-events", {"action": "a\x00"}), ("/v1/jobs", {"starting_after": "\x00"})],
)
def test_a_query_value_holding_nul_is_schema_invalid_and_refused(
    api: TestClient, world: World, document: dict[str, Any], path: str, query: dict[str, str]
) -> None:
    ((name, value),) = query.items()
    assert not matches(parameter(document, "GET", path, name)["schema"], value)
    key = world.owner_key()
    response = api.get(path, headers=key.headers, params=query)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == name
    assert_documented(document, "GET", path, response)


@pytest.mark.parametrize("name", ["\u0085", " \u3000 ", "\u0085a\u00a0", "\ufeff"])
def test_a_name_is_schema_valid_exactly_when_accepted(
    api: TestClient, world: World, document: dict[str, Any], name: str
) -> None:
    """Names are stripped of Unicode whitespace: one of spaces alone is refused by both."""
    schema = document["components"]["schemas"]["KeyCreate"]["properties"]["name"]
    key = world.owner_key()
    body = {"name": name, "scopes": ["sites:read"]}
    response = api.post("/v1/api-keys", headers=key.headers, json=body)
    assert response.status_code == (201 if matches(schema, name) else 422), response.text
