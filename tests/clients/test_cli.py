"""`mf` as a user runs it: a subprocess against a live `forge serve`, every command, with the
unhappy paths and the documented exit codes."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import BIN, LiveServer, Mf, free_port, key_without
from tests.factories import SecretsWorld, World

SECRET_VALUE = "sk_live_never_print_me_51Nx"


def test_help_lists_every_group_and_the_exit_codes(mf: Mf) -> None:
    run = mf("--help")
    assert run.code == 0
    for group in [
        "login",
        "logout",
        "whoami",
        "sites",
        "envs",
        "keys",
        "limits",
        "secrets",
        "redirects",
        "cache",
        "jobs",
        "audit",
        "deploy",
        "api",
    ]:
        assert f"  {group} " in run.out
    words = " ".join(run.out.split())
    assert "3 authentication" in words and "7 network" in words


def test_a_usage_mistake_is_exit_2(mf: Mf) -> None:
    assert mf("sites", "get").code == 2
    assert mf("sites", "frobnicate").code == 2


def test_shell_completion_script(mf: Mf) -> None:
    """Typer detects the calling shell; `; exit` keeps bash from exec-ing mf in its place."""
    done = subprocess.run(
        ["bash", "-c", f"'{BIN / 'mf'}' --show-completion; exit $?"],
        capture_output=True,
        text=True,
        env=mf.env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "complete" in done.stdout and "_MF_COMPLETE" in done.stdout


def test_no_token_is_exit_3_and_says_how_to_log_in(mf: Mf) -> None:
    mf.token = None
    run = mf("sites", "list")
    assert run.code == 3
    assert "mf login" in run.err and run.err.count("\n") == 1 and run.out == ""


def test_a_bad_token_is_exit_3_with_the_request_id(mf: Mf) -> None:
    mf.token = "mfk_test_" + "A" * 36
    run = mf("sites", "list")
    assert run.code == 3
    assert "401 authentication" in run.err and "request req_" in run.err
    assert "mf login" in run.err and run.err.count("\n") == 1


def test_login_from_stdin_stores_the_key_for_the_user_alone(mf: Mf, place: SecretsWorld) -> None:
    token, mf.token = mf.token, None
    assert token is not None
    run = mf("login", "--token-stdin", input=token + "\n")
    assert run.code == 0, run.err
    assert "Logged in" in run.out and token not in run.out + run.err
    config = mf.home / ".config" / "forge" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert json.loads(config.read_text())["token"] == token

    me = mf.json("whoami")
    assert me["id"] == place.owner.id and "secret" not in me
    assert mf("whoami").code == 0

    run = mf("logout")
    assert run.code == 0 and not config.exists()
    assert mf("whoami").code == 3


def test_login_refuses_a_bad_key_and_stores_nothing(mf: Mf) -> None:
    mf.token = None
    run = mf("login", "--token-stdin", input="mfk_test_" + "B" * 36 + "\n")
    assert run.code == 3
    assert not (mf.home / ".config" / "forge" / "config.json").exists()


def test_login_takes_no_key_as_an_argument_nor_from_a_pipe_without_the_flag(mf: Mf) -> None:
    token, mf.token = mf.token, None
    assert token is not None
    assert mf("login", token).code == 2
    run = mf("login", input=token)
    assert run.code == 2 and "--token-stdin" in run.err
    assert not (mf.home / ".config").exists()


def test_a_piped_table_without_columns_prints_each_row_whole_on_one_line(mf: Mf) -> None:
    name = "A site whose name is long enough to be folded at eighty columns, every word of it"
    made = mf.json("sites", "create", "long-name", "--name", name)
    env = mf.env({"COLUMNS": ""})
    done = subprocess.run(
        [str(BIN / "mf"), "sites", "list"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0
    (row,) = [line for line in done.stdout.splitlines() if made["id"] in line]
    assert name in row


def test_sites_list_get_create_delete(mf: Mf, place: SecretsWorld) -> None:
    listed = mf.json("sites", "list")
    assert [site["id"] for site in listed] == [place.site.id]
    assert set(listed[0]) == {
        "id",
        "object",
        "team_id",
        "project_id",
        "slug",
        "name",
        "mode",
        "created_at",
        "updated_at",
    }
    assert mf.json("sites", "get", place.site.slug)["id"] == place.site.id

    made = mf.json("sites", "create", "blog", "--name", "Blog")
    assert made["slug"] == "blog" and made["mode"] == "test"
    table = mf("sites", "list")
    assert table.code == 0 and "blog" in table.out and made["id"] in table.out
    assert "\x1b[" not in table.out  # NO_COLOR and a pipe: plain text

    assert mf("sites", "delete", "blog").code == 2  # no --yes and no terminal to ask
    gone = mf.json("sites", "delete", made["id"], "--yes")
    assert gone == {"id": made["id"], "deleted": True}
    run = mf("sites", "get", made["id"])
    assert run.code == 4 and "404 not_found" in run.err and "request req_" in run.err


def test_values_are_printed_as_they_are_never_as_markup(mf: Mf) -> None:
    name = "[red]Blog[/red] :smile: [draft]"
    made = mf.json("sites", "create", "marked", "--name", name)
    assert made["name"] == name
    for run in (mf("sites", "get", "marked"), mf("sites", "list")):
        assert run.code == 0 and name in run.out, run.out


def test_a_taken_slug_is_exit_5_and_a_bad_one_names_the_field(mf: Mf, place: SecretsWorld) -> None:
    run = mf("sites", "create", place.site.slug)
    assert run.code == 5 and "409 conflict" in run.err
    run = mf("sites", "create", "Not A Slug!")
    assert run.code == 1 and "422 validation_error" in run.err and "slug" in run.err


def test_environments(mf: Mf, place: SecretsWorld) -> None:
    assert [e["name"] for e in mf.json("envs", "list", place.site.id)] == ["production"]
    made = mf.json(
        "envs",
        "create",
        place.site.slug,
        "preview",
        "--parent",
        "production",
        "--hostname",
        "preview.example.com",
        "--origin",
        "https://o.example.com",
    )
    assert made["parent_id"] == place.env.id and made["hostnames"] == ["preview.example.com"]
    got = mf.json("envs", "get", place.site.slug, "preview")
    assert got == made
    changed = mf.json(
        "envs",
        "update",
        place.site.id,
        made["id"],
        "--no-parent",
        "--origin",
        "https://other.example.com",
    )
    assert changed["parent_id"] is None and changed["origin_url"] == "https://other.example.com"
    assert changed["hostnames"] == ["preview.example.com"]  # untouched
    run = mf("envs", "get", place.site.id, "nowhere")
    assert run.code == 4 and "mf envs list" in run.err


def test_keys_create_prints_the_secret_once_on_its_own_line(mf: Mf, place: SecretsWorld) -> None:
    run = mf("keys", "create", "ci", "--scopes", "sites:read,jobs:read", "--pin", place.site.id)
    assert run.code == 0, run.err
    secret = run.out.strip().splitlines()[-1]
    assert secret.startswith("mfk_test_") and len(secret) == 45
    assert run.out.count(secret) == 1 and "shown once" in run.err

    as_json = mf.json("keys", "create", "ci-json", "--scopes", "read-only", "--expires-in", "7d")
    assert as_json["secret"].startswith("mfk_test_")

    listed = mf.json("keys", "list")
    assert {k["name"] for k in listed} >= {"ci", "ci-json"}
    assert secret not in json.dumps(listed) and as_json["secret"] not in json.dumps(listed)
    ci = next(k for k in listed if k["name"] == "ci")
    assert ci["resource"] == {"site": place.site.id}

    assert mf.json("keys", "get", ci["id"])["prefix"] == ci["prefix"]
    assert mf.json("keys", "update", ci["id"], "--name", "ci-2", "--unpin")["resource"] is None

    rolled = mf("keys", "roll", ci["id"], "--grace", "0s")
    new_secret = rolled.out.strip().splitlines()[-1]
    assert rolled.code == 0 and new_secret.startswith("mfk_test_") and new_secret != secret

    the_key = Mf(mf.url, mf.home, new_secret)
    assert the_key.json("keys", "self")["name"] == "ci-2"
    assert Mf(mf.url, mf.home, secret)("whoami").code == 3  # cut at once by the 0s grace

    revoked = mf.json("keys", "revoke", ci["id"], "--yes")
    assert revoked["revoked_at"] is not None
    assert the_key("sites", "list").code == 3


def test_limits(mf: Mf) -> None:
    buckets = mf.json("limits")["buckets"]
    assert {b["kind"] for b in buckets} == {"read", "write", "create"}
    assert "create" in mf("limits").out


def test_a_missing_scope_says_which_and_how_to_get_it(
    mf: Mf, world: World, place: SecretsWorld
) -> None:
    mf.token = key_without(world, place, "sites:read").secret
    run = mf("sites", "list")
    assert run.code == 1
    assert "insufficient_scope" in run.err and "`sites:read`" in run.err
    assert "mf keys create" in run.err and "request req_" in run.err


def test_secrets_never_show_a_value(mf: Mf, place: SecretsWorld, tmp_path: Path) -> None:
    site, env = place.site.id, "production"
    outputs: list[str] = []

    def run(*args: str, input: str | None = None) -> str:
        done = mf(*args, input=input)
        outputs.extend([done.out, done.err])
        assert done.code == 0, done.err
        return done.out

    assert mf("secrets", "set", site, env, "EMPTY").code == 2  # nothing on stdin: refused
    run("secrets", "set", site, env, "STRIPE_KEY", input=SECRET_VALUE + "\n")
    value_file = tmp_path / "value.txt"
    value_file.write_text(SECRET_VALUE + "-file")
    run("secrets", "set", site, env, "FILE_KEY", "--from-file", str(value_file))
    run("secrets", "set", site, env, "ARG_KEY", "--value", SECRET_VALUE + "-arg", "--json")
    listed = json.loads(run("secrets", "list", site, env, "--json"))
    assert [s["key"] for s in listed] == ["ARG_KEY", "FILE_KEY", "STRIPE_KEY"]
    run("secrets", "list", site, env)

    dotenv = tmp_path / ".env"
    dotenv.write_text(f"IMPORTED={SECRET_VALUE}-dotenv\nSTRIPE_KEY=other\n")
    imported = json.loads(run("secrets", "import", site, env, str(dotenv), "--json"))
    assert imported["set"] == ["IMPORTED"] and imported["kept"] == ["STRIPE_KEY"]

    run("secrets", "set", site, env, "STRIPE_KEY", input="second\n")
    restored = json.loads(run("secrets", "restore", site, env, "STRIPE_KEY", "1", "--json"))
    assert restored["version"] == 3 and restored["versions"][0]["restored_from"] == 1

    child = mf.json("envs", "create", site, "preview", "--parent", "production")
    compared = json.loads(run("secrets", "compare", site, env, "preview", "--json"))
    assert {k["status"] for k in compared["keys"]} == {"same"}
    unset = json.loads(run("secrets", "unset", site, child["id"], "IMPORTED", "--json"))
    assert unset["tombstone"] is True
    run("secrets", "delete", site, child["id"], "IMPORTED")
    deleted = json.loads(run("secrets", "delete", site, env, "ARG_KEY", "--json"))
    assert deleted["deleted"] is True

    deployment = json.loads(run("deploy", site, env, "--json"))
    assert {s["key"] for s in deployment["secrets"]} == {"FILE_KEY", "IMPORTED", "STRIPE_KEY"}
    run("deploy", site, env)

    everything = "".join(outputs)
    assert SECRET_VALUE not in everything and "second" not in everything
    config_dir = mf.home / ".config"
    assert not config_dir.exists() or SECRET_VALUE not in "".join(
        p.read_text() for p in config_dir.rglob("*") if p.is_file()
    )


def test_audit_list_filters(mf: Mf, place: SecretsWorld) -> None:
    made = mf.json("keys", "create", "audited", "--scopes", "sites:read")
    events = mf.json(
        "audit", "list", "--key-prefix", place.owner.prefix, "--since", "2000-01-01T00:00:00Z"
    )
    assert any(e["action"] == "key.created" and e["resource_id"] == made["id"] for e in events)
    run = mf("audit", "list", "--since", "yesterday")
    assert run.code == 1 and "since" in run.err


def test_mf_api_calls_any_route(mf: Mf, world: World, place: SecretsWorld) -> None:
    newer = world.site(place.team)
    body = mf("api", "GET", "/v1/sites?limit=1").json()
    assert [s["id"] for s in body["data"]] == [newer.id] and body["has_more"] is True
    assert body["request_id"].startswith("req_")
    made = mf("api", "POST", "/v1/projects", "--data", '{"slug": "side"}').json()
    assert made["data"]["slug"] == "side"
    assert mf("api", "GET", "/v1/nothing-here").code == 4
    assert mf("api", "POST", "/v1/projects", "--data", "{not json").code == 2


def test_server_down_is_exit_7(mf: Mf) -> None:
    run = mf("sites", "list", env={"FORGE_API_URL": f"http://127.0.0.1:{free_port()}"})
    assert run.code == 7 and "Is Forge running" in run.err and run.err.count("\n") == 1


def site_creations(server: LiveServer) -> list[int]:
    """The statuses of every `POST /v1/sites` the server answered, from its access log."""
    lines = [
        json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")
    ]
    return [
        line["status"]
        for line in lines
        if line.get("method") == "POST" and line.get("path") == "/v1/sites"
    ]


@pytest.fixture
def one_create_per(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """Servers whose create bucket holds one request per `window` seconds."""
    started: list[LiveServer] = []

    def start(window: int) -> LiveServer:
        server = LiveServer(
            database_url,
            tmp_path / f"window-{window}",
            FORGE_RATELIMIT_CREATE="1",
            FORGE_RATELIMIT_WINDOW=str(window),
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_a_429_is_retried_after_retry_after_then_succeeds(
    one_create_per: Any, place: SecretsWorld, tmp_path: Path
) -> None:
    # Ten seconds: the second mf has started well before a unit comes back, and it is short
    # enough to wait for.
    tight = one_create_per(10)
    mf = Mf(tight.url, tmp_path, place.owner.secret)
    assert mf("sites", "create", "first").code == 0
    second = mf("sites", "create", "second", "--json")  # refused once, retried after Retry-After
    assert second.json()["slug"] == "second"
    assert site_creations(tight) == [201, 429, 201]


def test_rate_limited_beyond_what_retries_wait_for_is_exit_6(
    one_create_per: Any, place: SecretsWorld, tmp_path: Path
) -> None:
    stingy = one_create_per(120)  # a unit comes back only after two minutes
    mf = Mf(stingy.url, tmp_path, place.owner.secret)
    assert mf("sites", "create", "first").code == 0
    run = mf("sites", "create", "second")
    assert run.code == 6
    assert "429 rate_limited" in run.err and "Retry after" in run.err and "mf limits" in run.err
    assert site_creations(stingy) == [201, 429]  # a two-minute Retry-After is not waited on
