"""POST /v1/secret-scanning/github: GitHub's partner format, verified over the raw bytes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient

from forge.app import create_app
from forge.audit.models import AuditEvent
from forge.config import ConfigError, Settings, load_settings
from forge.db import Database
from forge.keys import tokens
from tests.factories import World
from tests.keys.helpers import bearer

IDENTIFIER = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a"


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def scanner() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def keys_file(tmp_path: Path, scanner: ec.EllipticCurvePrivateKey) -> Path:
    retired = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "github-keys.json"
    path.write_text(
        json.dumps(
            {
                "public_keys": [
                    {"key_identifier": "old", "key": _pem(retired), "is_current": False},
                    {"key_identifier": IDENTIFIER, "key": _pem(scanner), "is_current": True},
                ]
            }
        )
    )
    return path


@pytest.fixture
def scanning_app(settings: Settings, database: Database, keys_file: Path) -> FastAPI:
    configured = load_settings({"FORGE_SECRET_SCANNING_KEYS": str(keys_file)})
    return create_app(
        settings.model_copy(update={"secret_scanning_keys": configured.secret_scanning_keys}),
        database,
    )


@pytest.fixture
def github(scanning_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(scanning_app, client=("140.82.115.1", 443)) as client:
        yield client


def _sign(key: ec.EllipticCurvePrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()


def _alert(*tokens_: str, url: str = "https://github.com/o/r/blob/abc/.env#L1") -> bytes:
    records = [
        {"token": t, "type": "forge_api_key", "url": url, "source": "content"} for t in tokens_
    ]
    return json.dumps(records).encode()


def _post(
    client: TestClient,
    body: bytes,
    signature: str | None,
    identifier: str | None = IDENTIFIER,
) -> object:
    headers = {"Content-Type": "application/json"}
    if identifier is not None:
        headers["Github-Public-Key-Identifier"] = identifier
    if signature is not None:
        headers["Github-Public-Key-Signature"] = signature
    return client.post("/v1/secret-scanning/github", content=body, headers=headers)


def _leaks(database: Database) -> list[AuditEvent]:
    with database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "key.leaked")))


# --- signatures: 401 and nothing changes -----------------------------------------------------


def test_missing_signature_is_401(github: TestClient, world: World, database: Database) -> None:
    key = world.owner_key()
    response = _post(github, _alert(key.secret), None)
    assert response.status_code == 401  # type: ignore[attr-defined]
    response = _post(github, _alert(key.secret), "c2ln", identifier=None)
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert github.get("/v1/api-keys/self", headers=key.headers).status_code == 200
    assert _leaks(database) == []


def test_a_tampered_body_is_401(
    github: TestClient, world: World, database: Database, scanner: ec.EllipticCurvePrivateKey
) -> None:
    key = world.owner_key()
    innocent = _alert("ghp_nothing_to_see")
    signature = _sign(scanner, innocent)
    response = _post(github, _alert(key.secret), signature)
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert github.get("/v1/api-keys/self", headers=key.headers).status_code == 200
    assert _leaks(database) == []


def test_a_reserialised_body_does_not_verify(
    github: TestClient, world: World, scanner: ec.EllipticCurvePrivateKey
) -> None:
    """Signed bytes with different whitespace: the server must verify the raw bytes only."""
    key = world.owner_key()
    body = _alert(key.secret)
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    response = _post(github, compact, _sign(scanner, body))
    assert response.status_code == 401  # type: ignore[attr-defined]


def test_a_signature_by_another_key_or_identifier_is_401(
    github: TestClient, world: World, scanner: ec.EllipticCurvePrivateKey
) -> None:
    key = world.owner_key()
    body = _alert(key.secret)
    impostor = ec.generate_private_key(ec.SECP256R1())
    assert _post(github, body, _sign(impostor, body)).status_code == 401  # type: ignore[attr-defined]
    assert _post(github, body, _sign(scanner, body), "old").status_code == 401  # type: ignore[attr-defined]
    assert _post(github, body, _sign(scanner, body), "unknown").status_code == 401  # type: ignore[attr-defined]
    assert _post(github, body, "not base64!").status_code == 401  # type: ignore[attr-defined]
    assert _post(github, body, base64.b64encode(b"junk").decode()).status_code == 401  # type: ignore[attr-defined]
    assert github.get("/v1/api-keys/self", headers=key.headers).status_code == 200


def test_unconfigured_server_answers_401(api: TestClient, world: World) -> None:
    key = world.owner_key()
    scanner = ec.generate_private_key(ec.SECP256R1())
    body = _alert(key.secret)
    assert _post(api, body, _sign(scanner, body)).status_code == 401  # type: ignore[attr-defined]


def test_a_signed_but_malformed_alert_is_422(
    github: TestClient, scanner: ec.EllipticCurvePrivateKey
) -> None:
    for body in (b'{"alerts": []}', b'[{"type": "x"}]', b"[1, 2]"):
        response = _post(github, body, _sign(scanner, body))
        assert response.status_code == 422, body  # type: ignore[attr-defined]


# --- verified alerts -------------------------------------------------------------------------


def test_a_leaked_key_is_revoked_and_recorded(
    github: TestClient, world: World, database: Database, scanner: ec.EllipticCurvePrivateKey
) -> None:
    team = world.team()
    leaked = world.owner_key(team)
    token = world.service_token(team)
    look_alike = "mfk_live_" + "A" * 36  # right shape, wrong checksum
    unknown = tokens.generate("mfk", "live")  # valid checksum, never minted
    url = "https://github.com/octo/repo/blob/abc123/.env#L3"
    body = _alert(leaked.secret, token.secret, look_alike, unknown, url=url)
    response = _post(github, body, _sign(scanner, body))
    assert response.status_code == 200  # type: ignore[attr-defined]
    verdicts = response.json()  # type: ignore[attr-defined]
    assert verdicts == [
        {"token_raw": leaked.secret, "token_type": "forge_api_key", "label": "true_positive"},
        {"token_raw": token.secret, "token_type": "forge_api_key", "label": "true_positive"},
        {"token_raw": look_alike, "token_type": "forge_api_key", "label": "false_positive"},
        {"token_raw": unknown, "token_type": "forge_api_key", "label": "false_positive"},
    ]
    for key in (leaked, token):
        assert github.get("/v1/api-keys/self", headers=key.headers).status_code == 401
    leaks = _leaks(database)
    assert {e.resource_id for e in leaks} == {leaked.id, token.id}
    for event in leaks:
        assert event.data["url"] == url
        assert event.data["source"] == "content"
        assert event.actor_type == "system"
        assert event.data["prefix"].endswith("…")
        assert leaked.secret not in str(event.data) and token.secret not in str(event.data)
    with database.session() as session:
        revoked = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "key.revoked")
        ).all()
    assert {e.resource_id for e in revoked} == {leaked.id, token.id}


def test_a_leaked_previous_secret_revokes_the_whole_key(
    github: TestClient, world: World, scanner: ec.EllipticCurvePrivateKey
) -> None:
    key = world.owner_key()
    rolled = github.post(f"/v1/api-keys/{key.id}/roll", headers=key.headers).json()["data"]
    body = _alert(key.secret)
    assert _post(github, body, _sign(scanner, body)).status_code == 200  # type: ignore[attr-defined]
    assert github.get("/v1/api-keys/self", headers=bearer(rolled["secret"])).status_code == 401


def test_a_replayed_alert_changes_nothing(
    github: TestClient, world: World, database: Database, scanner: ec.EllipticCurvePrivateKey
) -> None:
    key = world.owner_key()
    body = _alert(key.secret)
    signature = _sign(scanner, body)
    first = _post(github, body, signature)
    second = _post(github, body, signature)
    assert first.json() == second.json()  # type: ignore[attr-defined]
    assert len(_leaks(database)) == 1
    elsewhere = _alert(key.secret, url="https://gist.github.com/x/1")
    _post(github, elsewhere, _sign(scanner, elsewhere))
    assert len(_leaks(database)) == 2  # a second place it leaked is a second record


def test_the_leak_shows_in_the_owners_audit_log(
    github: TestClient, world: World, scanner: ec.EllipticCurvePrivateKey
) -> None:
    team = world.team()
    person = world.member(team, "owner")
    leaked = world.key(team, person)
    reader = world.key(team, person)
    body = _alert(leaked.secret)
    _post(github, body, _sign(scanner, body))
    events = github.get(
        f"/v1/audit-events?action=key.leaked&resource={leaked.id}", headers=reader.headers
    ).json()["data"]
    assert len(events) == 1
    assert events[0]["data"]["url"].startswith("https://github.com/")


def test_a_large_alert_passes_the_contract_middleware(
    github: TestClient, scanner: ec.EllipticCurvePrivateKey
) -> None:
    """A JSON array body, tokens inside: none of it is mistaken for a credential in a body."""
    body = _alert(*[tokens.generate("mfs", "live") for _ in range(50)])
    response = _post(github, body, _sign(scanner, body))
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert {v["label"] for v in response.json()} == {"false_positive"}  # type: ignore[attr-defined]


# --- configuration ---------------------------------------------------------------------------


def test_configuration_problems_are_one_line_naming_the_variable(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    cases = {
        "missing.json": None,
        "not-json.json": "{",
        "no-list.json": json.dumps({"keys": []}),
        "bad-pem.json": json.dumps({"public_keys": [{"key_identifier": "a", "key": "nope"}]}),
        "rsa.json": json.dumps({"public_keys": [{"key_identifier": "a", "key": rsa_pem}]}),
        "no-id.json": json.dumps({"public_keys": [{"key": "x"}]}),
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        with pytest.raises(ConfigError) as raised:
            load_settings({"FORGE_SECRET_SCANNING_KEYS": str(path)})
        assert raised.value.variable == "FORGE_SECRET_SCANNING_KEYS", name
        assert "\n" not in str(raised.value)
        assert str(raised.value).startswith("FORGE_SECRET_SCANNING_KEYS: ")


def test_unset_means_no_scanner_keys() -> None:
    assert load_settings({}).secret_scanning_keys == ()


def test_forge_serve_refuses_to_start_with_a_bad_keys_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from forge.cli.main import app as cli

    bad = tmp_path / "keys.json"
    bad.write_text("not json")
    result = CliRunner().invoke(
        cli,
        ["serve", "--port", "1"],
        env={"FORGE_SECRET_SCANNING_KEYS": str(bad), "FORGE_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "FORGE_SECRET_SCANNING_KEYS" in lines[0]
