"""The SDK, sync and async alike, over a live server and over the ASGI app: resources, typed
models, pagination, retries with one Idempotency-Key, every error class, env configuration."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import forge_sdk
from forge.app import create_app
from forge.config import Settings
from forge.db import Database
from forge_sdk import models
from forge_sdk._http import Settings as SdkSettings
from forge_sdk._http import retry_delay
from tests.clients.conftest import LiveServer, free_port, key_without
from tests.clients.sdk_harness import Sdk
from tests.factories import SecretsWorld, World

FLAVOURS = ["sync-live", "async-asgi", "async-live"]


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connect(flavour: str, live: LiveServer, app: FastAPI) -> Iterator[Any]:
    made: list[Sdk] = []

    def make(token: str, **options: Any) -> Sdk:
        sdk = Sdk(flavour, token, live.url, app, **options)
        made.append(sdk)
        return sdk

    yield make
    for sdk in made:
        sdk.close()


@pytest.fixture
def sdk(connect: Any, place: SecretsWorld) -> Sdk:
    made: Sdk = connect(place.owner.secret)
    return made


def _error(exc: pytest.ExceptionInfo[forge_sdk.APIError], status: int, code: str) -> None:
    assert exc.value.status == status and exc.value.code == code
    assert exc.value.request_id is not None and exc.value.request_id.startswith("req_")
    assert exc.value.message


def test_resources_answer_typed_models(sdk: Sdk, place: SecretsWorld) -> None:
    site = sdk.do(lambda c: c.sites.get(place.site.id))
    assert isinstance(site, models.Site) and site.slug == place.site.slug
    assert site.request_id is not None and site.request_id.startswith("req_")
    env = sdk.do(lambda c: c.environments.get(place.site.id, place.env.id))
    assert isinstance(env, models.Environment) and env.name == "production"
    team = sdk.do(lambda c: c.teams.get(place.team.id))
    assert isinstance(team, models.Team) and team.id == place.team.id
    me = sdk.do(lambda c: c.keys.self())
    assert isinstance(me, models.KeySelf) and me.id == place.owner.id
    budgets = sdk.do(lambda c: c.rate_limits.get())
    assert {b.kind for b in budgets.buckets} == {"read", "write", "create"}


def test_every_request_pins_the_version_and_authenticates(sdk: Sdk, place: SecretsWorld) -> None:
    sdk.do(lambda c: c.sites.get(place.site.id))
    sent = sdk.script.seen[-1]
    assert sent.headers["Forge-Version"] == forge_sdk.FORGE_VERSION
    assert sent.headers["Authorization"] == f"Bearer {place.owner.secret}"
    assert sent.headers["User-Agent"].startswith("forge-sdk-python/")


def test_list_iterates_across_every_page(sdk: Sdk, world: World, place: SecretsWorld) -> None:
    made = [place.site.id] + [world.site(place.team).id for _ in range(4)]
    sites = sdk.all(lambda c: c.sites.list(limit=2))
    assert [s.id for s in sites] == sorted(made, reverse=True)  # newest first, each once
    pages = [r for r in sdk.script.seen if r.url.path == "/v1/sites"]
    assert len(pages) == 3
    cursors = [r.url.params.get("starting_after") for r in pages]
    assert cursors == [None, sites[1].id, sites[3].id]


def test_secrets_list_pages_on_the_key_name(sdk: Sdk, place: SecretsWorld) -> None:
    site, env = place.site.id, place.env.id
    for name in ["A_KEY", "B_KEY", "C_KEY"]:
        sdk.do(lambda c, name=name: c.secrets.set(site, env, name, "v"))
    listed = sdk.all(lambda c: c.secrets.list(site, env, limit=2))
    assert [s.key for s in listed] == ["A_KEY", "B_KEY", "C_KEY"]
    assert all(isinstance(s, models.Secret) and s.has_value for s in listed)


def test_a_post_is_retried_after_connection_errors_with_one_idempotency_key(
    sdk: Sdk, place: SecretsWorld
) -> None:
    sdk.script.steps = [httpx.ConnectError("refused"), httpx.ReadError("reset")]
    site = sdk.do(lambda c: c.sites.create("retried"))
    attempts = [r for r in sdk.script.seen if r.method == "POST"]
    assert len(attempts) == 3
    keys = {r.headers["Idempotency-Key"] for r in attempts}
    assert len(keys) == 1 and len(next(iter(keys))) == 36
    assert [s.slug for s in sdk.all(lambda c: c.sites.list())].count("retried") == 1
    assert site.slug == "retried"


def test_each_post_gets_its_own_key_and_a_given_key_replays(sdk: Sdk, place: SecretsWorld) -> None:
    first = sdk.do(lambda c: c.projects.create("one"))
    second = sdk.do(lambda c: c.projects.create("two"))
    posts = [r.headers["Idempotency-Key"] for r in sdk.script.seen if r.method == "POST"]
    assert first.id != second.id and len(set(posts)) == 2
    again = sdk.do(lambda c: c.projects.create("three", idempotency_key="release-42"))
    replay = sdk.do(lambda c: c.projects.create("three", idempotency_key="release-42"))
    assert replay.id == again.id


@pytest.mark.parametrize(
    "refusal",
    [
        (503, {}, {"error": {"code": "internal", "message": "down"}, "request_id": "req_x"}),
        (429, {"Retry-After": "0"}, {"error": {"code": "rate_limited", "message": "slow"}}),
        (
            409,
            {"Retry-After": "0"},
            {"error": {"code": "idempotency_in_progress", "message": "still running"}},
        ),
    ],
    ids=["503", "429", "409-in-progress"],
)
def test_retryable_answers_are_retried_then_succeed(
    sdk: Sdk, place: SecretsWorld, refusal: tuple[int, dict[str, str], Any]
) -> None:
    sdk.script.steps = [refusal, refusal]
    project = sdk.do(lambda c: c.projects.create("after-refusals"))
    posts = [r for r in sdk.script.seen if r.method == "POST"]
    assert len(posts) == 3 and len({r.headers["Idempotency-Key"] for r in posts}) == 1
    assert project.slug == "after-refusals"


def test_retries_are_bounded_by_max_retries(connect: Any, place: SecretsWorld) -> None:
    sdk = connect(place.owner.secret, max_retries=3)
    sdk.script.steps = [httpx.ConnectError("refused")] * 10
    with pytest.raises(forge_sdk.APIConnectionError):
        sdk.do(lambda c: c.teams.get(place.team.id))
    assert len(sdk.script.seen) == 4
    never = connect(place.owner.secret, max_retries=0)
    never.script.steps = [(503, {}, {"error": {"code": "internal", "message": "x"}})]
    with pytest.raises(forge_sdk.InternalServerError):
        never.do(lambda c: c.teams.get(place.team.id))
    assert len(never.script.seen) == 1


def test_final_errors_are_not_retried(sdk: Sdk, place: SecretsWorld) -> None:
    with pytest.raises(forge_sdk.ConflictError) as conflict:
        sdk.do(lambda c: c.sites.create(place.site.slug))
    _error(conflict, 409, "conflict")
    assert len([r for r in sdk.script.seen if r.method == "POST"]) == 1


def test_retry_after_is_honoured_never_sooner() -> None:
    settings = SdkSettings("t", "http://x", max_retries=2, timeout=1, backoff=0.5)
    response = httpx.Response(429, headers={"Retry-After": "3"})
    delays = [retry_delay(settings, 0, response) for _ in range(50)]
    assert all(delay is not None and 3 <= delay <= 3.25 for delay in delays)
    assert retry_delay(settings, 2, response) is None  # attempts used up
    assert retry_delay(settings, 0, httpx.Response(429, headers={"Retry-After": "120"})) is None
    backoffs = {retry_delay(settings, 1, httpx.ConnectError("x")) for _ in range(50)}
    assert all(b is not None and 0.5 <= b <= 1.0 for b in backoffs) and len(backoffs) > 1


def test_every_error_class_carries_code_message_and_request_id(
    sdk: Sdk, connect: Any, world: World, place: SecretsWorld
) -> None:
    with pytest.raises(forge_sdk.NotFoundError) as missing:
        sdk.do(lambda c: c.sites.get("site_01J7Q2AAAAAAAAAAAAAAAAAAAA"))
    _error(missing, 404, "not_found")

    with pytest.raises(forge_sdk.ValidationError) as invalid:
        sdk.do(lambda c: c.sites.create("Not A Slug"))
    _error(invalid, 422, "validation_error")
    assert invalid.value.param == "slug" and invalid.value.errors[0]["param"] == "slug"

    with pytest.raises(forge_sdk.BadRequestError) as bad:
        sdk.do(lambda c: c.request("GET", "/v1/sites", params={"api_key": place.owner.secret}))
    _error(bad, 400, "invalid_request")

    stranger = connect("mfk_test_" + "A" * 36)
    with pytest.raises(forge_sdk.AuthenticationError) as unknown:
        stranger.do(lambda c: c.teams.get(place.team.id))
    _error(unknown, 401, "authentication")

    narrow = connect(key_without(world, place, "sites:read").secret)
    with pytest.raises(forge_sdk.PermissionDeniedError) as denied:
        narrow.do(lambda c: c.sites.get(place.site.id))
    _error(denied, 403, "insufficient_scope")
    assert denied.value.required_scope == "sites:read"
    assert "sites:read" not in denied.value.key_scopes

    stale = {
        "error": {
            "type": "invalid_request_error",
            "code": "precondition_failed",
            "message": "If-Match no longer matches",
        },
        "request_id": "req_412",
    }
    sdk.script.steps = [(412, {"Request-Id": "req_412"}, stale)]
    with pytest.raises(forge_sdk.PreconditionFailedError) as precondition:
        sdk.do(lambda c: c.sites.get(place.site.id))
    _error(precondition, 412, "precondition_failed")

    closed = connect(place.owner.secret, max_retries=1)
    closed.script.steps = [httpx.ConnectError("refused")] * 2
    with pytest.raises(forge_sdk.APIConnectionError):
        closed.do(lambda c: c.teams.get(place.team.id))


@pytest.fixture
def stingy_app(settings: Settings, database: Database) -> FastAPI:
    return create_app(
        settings.model_copy(update={"ratelimit_create": 1, "ratelimit_window": 120}), database
    )


def test_a_long_rate_limit_is_a_rate_limit_error_with_retry_after(
    stingy_app: FastAPI, place: SecretsWorld
) -> None:
    sdk = Sdk("async-asgi", place.owner.secret, "", stingy_app)
    try:
        sdk.do(lambda c: c.projects.create("one"))
        with pytest.raises(forge_sdk.RateLimitError) as limited:
            sdk.do(lambda c: c.projects.create("two"))
        _error(limited, 429, "rate_limited")
        assert limited.value.retry_after is not None and limited.value.retry_after > 60
        assert len([r for r in sdk.script.seen if r.method == "POST"]) == 2  # not waited on
    finally:
        sdk.close()


def test_raw_data_answers_exactly_what_the_api_sent(
    connect: Any, live: LiveServer, place: SecretsWorld
) -> None:
    sdk = connect(place.owner.secret, raw_data=True)
    got = sdk.do(lambda c: c.sites.get(place.site.id))
    direct = httpx.get(f"{live.url}/v1/sites/{place.site.id}", headers=place.owner.headers)
    assert got == direct.json()["data"] and type(got) is forge_sdk.RawData
    assert got.request_id is not None


def test_keys_round_trip(sdk: Sdk, place: SecretsWorld) -> None:
    made = sdk.do(lambda c: c.keys.create("bot", ["sites:read"], resource={"site": place.site.id}))
    assert isinstance(made, models.CreatedKey) and made.secret and made.secret not in repr(made)
    rolled = sdk.do(lambda c: c.keys.roll(made.id, grace="0s"))
    assert rolled.previous_prefix == made.prefix and rolled.secret != made.secret
    patched = sdk.do(lambda c: c.keys.update(made.id, name="bot-2", resource=None))
    assert patched.name == "bot-2" and patched.resource is None
    listed = sdk.all(lambda c: c.keys.list(owner="client"))
    assert made.id in {k.id for k in listed}
    assert sdk.do(lambda c: c.keys.revoke(made.id)).revoked_at is not None
    events = sdk.all(lambda c: c.audit_events.list(resource=made.id))
    assert {e.action for e in events} >= {"key.created", "key.rolled", "key.revoked"}


def test_secrets_and_deployments(sdk: Sdk, place: SecretsWorld) -> None:
    site, env = place.site.id, place.env.id
    declared = sdk.do(lambda c: c.secrets.declare(site, env, "DB_URL", required=True))
    assert declared.required and not declared.has_value
    with pytest.raises(forge_sdk.ValidationError) as blocked:
        sdk.do(lambda c: c.deployments.create(site, env))
    assert blocked.value.param == "secrets"
    assert sdk.do(lambda c: c.secrets.set(site, env, "DB_URL", "postgres://x")).key == "DB_URL"
    deployment = sdk.do(lambda c: c.deployments.create(site, env))
    assert [s.key for s in deployment.secrets] == ["DB_URL"]
    assert sdk.do(lambda c: c.deployments.get(site, env, deployment.id)).active
    assert [d.id for d in sdk.all(lambda c: c.deployments.list(site, env))] == [deployment.id]
    imported = sdk.do(lambda c: c.secrets.import_dotenv(site, env, "A=1\nB=2\n"))
    assert imported.set == ["A", "B"]
    assert sdk.do(lambda c: c.secrets.update(site, env, "A", description="a")).description == "a"
    detail = sdk.do(lambda c: c.secrets.restore(site, env, "DB_URL", 1))
    assert detail.version == 2 and detail.versions[0].restored_from == 1
    assert sdk.do(lambda c: c.secrets.delete(site, env, "B")).deleted


def test_environments_and_sites_lifecycle(sdk: Sdk, place: SecretsWorld) -> None:
    site = sdk.do(lambda c: c.sites.create("shop", name="Shop"))
    env = sdk.do(lambda c: c.environments.create(site.id, "staging", hostnames=["s.example"]))
    child = sdk.do(lambda c: c.environments.create(site.id, "preview", parent=env.id))
    assert child.parent_id == env.id
    cut = sdk.do(lambda c: c.environments.update(site.id, child.id, parent=None))
    assert cut.parent_id is None and cut.name == "preview"
    assert sdk.do(lambda c: c.sites.update(site.id, name="Shop 2")).name == "Shop 2"
    assert sdk.do(lambda c: c.environments.delete(site.id, child.id)).deleted
    assert sdk.do(lambda c: c.sites.delete(site.id)).deleted
    with pytest.raises(ValueError, match="site"):
        sdk.do(lambda c: c.sites.get(""))


def test_token_and_url_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, live: LiveServer, place: SecretsWorld
) -> None:
    monkeypatch.setenv("FORGE_TOKEN", place.owner.secret)
    monkeypatch.setenv("FORGE_API_URL", live.url + "/")
    with forge_sdk.Forge() as client:
        assert client.base_url == live.url
        assert client.sites.get(place.site.id).id == place.site.id
    monkeypatch.delenv("FORGE_TOKEN")
    with pytest.raises(forge_sdk.ConfigurationError, match="FORGE_TOKEN"):
        forge_sdk.Forge()
    with pytest.raises(forge_sdk.ConfigurationError):
        forge_sdk.AsyncForge(token="x", base_url="ftp://nowhere")


def test_a_server_that_is_down_is_an_api_connection_error(place: SecretsWorld) -> None:
    client = forge_sdk.Forge(
        place.owner.secret, f"http://127.0.0.1:{free_port()}", max_retries=1, backoff=0.01
    )
    with client, pytest.raises(forge_sdk.APIConnectionError, match="cannot reach") as down:
        client.sites.get(place.site.id)
    assert down.value.code == "connection_error" and down.value.request_id is None


def _job(env: str, status: str, **extra: Any) -> tuple[int, dict[str, str], Any]:
    job = {
        "id": "job_01J9TT",
        "type": "cache.purge",
        "status": status,
        "created_at": "2026-06-24T01:20:00.300Z",
        "resource": {"type": "environment", "id": env},
        "attempts": 0 if status == "queued" else 1,
        **extra,
    }
    return (
        202 if status == "queued" else 200,
        {"Request-Id": "req_job"},
        {"data": job, "request_id": "req_job"},
    )


def test_a_purge_waits_on_the_job_with_the_api_long_poll(sdk: Sdk, place: SecretsWorld) -> None:
    proof = {
        "edges": [
            {"edge": "edge_1", "applied_at": "…", "matched": 3, "evicted": 3, "marked_stale": 0}
        ],
        "totals": {"edges": 1},
        "edges_down": [],
    }
    sdk.script.steps = [
        _job(place.env.id, "queued"),
        _job(place.env.id, "running"),
        _job(place.env.id, "succeeded", result=proof),
    ]
    handle = sdk.do(
        lambda c: c.cache.purge(
            place.site.id,
            place.env.id,
            tags=["product-42"],
            soft=True,
            idempotency_key="purge-after-release",
        )
    )
    assert handle.id == "job_01J9TT" and handle.status == "queued"
    final = sdk.do(lambda c: handle.wait(timeout=60))
    assert isinstance(final, models.Job) and final.status == "succeeded"
    assert final.result is not None and final.result["edges"][0]["evicted"] == 3
    post, *polls = sdk.script.seen
    assert post.url.path == f"/v1/sites/{place.site.id}/environments/{place.env.id}/cache/purge"
    assert post.headers["Idempotency-Key"] == "purge-after-release"
    assert httpx.Response(200, content=post.content).json() == {
        "tags": ["product-42"],
        "mode": "soft",
    }
    assert [p.url.path for p in polls] == ["/v1/jobs/job_01J9TT"] * 2
    assert all(1 <= int(p.url.params["wait"]) <= 30 for p in polls)


def test_a_failed_job_raises_and_a_slow_one_times_out(sdk: Sdk, place: SecretsWorld) -> None:
    failure = {"code": "edge_unreachable", "message": "edge_2 did not apply it in 30 s"}
    sdk.script.steps = [_job(place.env.id, "queued"), _job(place.env.id, "failed", error=failure)]
    handle = sdk.do(lambda c: c.cache.purge(place.site.id, place.env.id))
    with pytest.raises(forge_sdk.JobFailedError, match="edge_2") as failed:
        sdk.do(lambda c: handle.wait(timeout=60))
    assert failed.value.job.status == "failed"

    def held(request: httpx.Request) -> tuple[int, dict[str, str], Any]:
        time.sleep(int(request.url.params["wait"]))  # as the API holds a running job
        return _job(place.env.id, "running")

    sdk.script.steps = [_job(place.env.id, "queued"), held]
    slow = sdk.do(lambda c: c.cache.purge(place.site.id, place.env.id))
    with pytest.raises(forge_sdk.JobTimeoutError) as timed_out:
        sdk.do(lambda c: slow.wait(timeout=0.3))
    assert timed_out.value.status == "running"
    assert [r.url.params.get("wait") for r in sdk.script.seen[-1:]] == ["1"]
