"""The whole-run leak scan (tests/leaks.py) finds a planted plaintext wherever it may hide and
names it (redacted) and where it was; what the API reveals by design is not a leak.

The planted plaintexts are literals, never made by `tokens.generate` or set as values here, so
this session's own scan does not know them: the files planted below are under its folder."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from forge.db import Database
from tests import leaks

PLANTED_KEY = "mfk_test_" + "Planted0Key1Never2Minted3Anywhere4Ab"
PLANTED_VALUE = "planted-value-0b6e1f4c9a"
PLANTED_BYTES = b"planted-bytes-7c21d9e0"


def _matcher(*plaintexts: tuple[str, str]) -> leaks.Matcher:
    registry = leaks.Registry()
    for plaintext, kind in plaintexts:
        registry.add(plaintext, kind)
    return registry.matcher()


def test_a_key_in_an_sqlite_file_is_found_and_named_redacted(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'planted.db'}")
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (s TEXT)"))
        connection.execute(text("INSERT INTO t VALUES (:s)"), {"s": f"x{PLANTED_KEY}y"})
    database.dispose()
    found = leaks.files_leaks(tmp_path, _matcher((PLANTED_KEY, "key secret")))
    assert [str(leak) for leak in found] == ["key secret mfk_test_Plan… in planted.db"]


def test_a_value_in_a_log_is_found_and_other_files_are_not_read(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "serve.log").write_text(f'{{"msg": "{PLANTED_VALUE}"}}\n')
    (tmp_path / "config.toml").write_text(f'token = "{PLANTED_VALUE}"\n')  # a CLI's own store
    found = leaks.files_leaks(tmp_path, _matcher((PLANTED_VALUE, "secret value")))
    assert [str(leak) for leak in found] == ["secret value planted-… in data/serve.log"]


def test_a_key_is_found_by_its_random_part_alone(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(PLANTED_KEY.removeprefix("mfk_test_"))
    found = leaks.files_leaks(tmp_path, _matcher((PLANTED_KEY, "key secret")))
    assert [leak.where for leak in found] == ["a.log"]


def test_short_values_are_not_tracked() -> None:
    registry = leaks.Registry()
    registry.add("on", "secret value")
    registry.add("1234567", "secret value")
    registry.add("12345678", "secret value")
    assert list(registry.plaintexts) == ["12345678"]


def _exchange(
    capture: leaks.HttpCapture, method: str, path: str, sent: object, status: int, answer: object
) -> None:
    request = httpx.Request(method, f"http://127.0.0.1{path}", json=sent)
    capture.exchange(request, httpx.Response(status, json=answer, request=request))


def test_a_response_is_a_leak_unless_it_reveals_by_design(tmp_path: Path) -> None:
    registry = leaks.Registry()
    spool = leaks.Spool(tmp_path / "seen.spool")
    capture = leaks.HttpCapture(registry, spool)
    created = {"data": {"id": "key_1", "secret": PLANTED_KEY}}
    _exchange(capture, "POST", "/v1/api-keys", {"name": "ci"}, 201, created)
    _exchange(capture, "GET", "/v1/api-keys/key_1", None, 200, {"data": {"name": PLANTED_KEY}})
    path = "/v1/sites/s/environments/e/secrets/TOKEN"
    _exchange(capture, "PUT", path, {"value": PLANTED_VALUE}, 200, {"data": {"key": "TOKEN"}})
    _exchange(capture, "PUT", path, {"value": PLANTED_VALUE}, 422, {"error": PLANTED_VALUE})
    leaked = [str(leak) for leak in spool.leaks(registry.matcher())]
    spool.close()
    assert sorted(leaked) == [
        "key secret mfk_test_Plan… in response 200 to GET /v1/api-keys/key_1",
        f"secret value planted-… in response 422 to PUT {path}",
    ]


def test_a_leak_reports_answer_may_echo_the_tokens_it_was_sent(tmp_path: Path) -> None:
    registry = leaks.Registry()
    registry.add(PLANTED_KEY, "key secret")
    spool = leaks.Spool(tmp_path / "seen.spool")
    alert = [{"token": PLANTED_KEY, "type": "forge_key", "url": "https://x", "source": "code"}]
    answer = [{"token_raw": PLANTED_KEY, "token_type": "forge_key", "label": "true_positive"}]
    leaks.HttpCapture(registry, spool).exchange(
        httpx.Request("POST", "http://127.0.0.1/v1/secret-scanning/github", json=alert),
        httpx.Response(200, content=json.dumps(answer).encode()),
    )
    assert spool.leaks(registry.matcher()) == []
    spool.close()


def test_a_key_pasted_into_a_path_is_not_in_the_leaks_name(tmp_path: Path) -> None:
    spool = leaks.Spool(tmp_path / "seen.spool")
    spool.append(f"response 404 to GET /v1/sites/{PLANTED_KEY}", b"not found")
    spool.append("response 200 to GET /v1/sites", PLANTED_KEY.encode())
    found = spool.leaks(_matcher((PLANTED_KEY, "key secret")))
    spool.close()
    assert [leak.where for leak in found] == ["response 200 to GET /v1/sites"]
    assert spool.names[0] == "response 404 to GET /v1/sites/mfk_test_Plan…"


def test_a_row_emptied_after_its_test_is_still_found(database: Database, tmp_path: Path) -> None:
    """The journal keeps every row written, text and binary columns alike, on both databases."""
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO master_key_checks (key_id, check_value, created_at) "
                "VALUES (:k, :v, CURRENT_TIMESTAMP)"
            ),
            {"k": PLANTED_VALUE, "v": PLANTED_BYTES},
        )
        connection.execute(text("DELETE FROM master_key_checks"))
    matcher = _matcher((PLANTED_VALUE, "secret value"), (PLANTED_BYTES.decode(), "secret value"))
    if database.url.startswith("sqlite"):
        path = Path(database.url.removeprefix("sqlite:///"))
        found = leaks.files_leaks(path.parent, matcher)
        # In the main file or its WAL, wherever the last checkpoint left it.
        assert {leak.where for leak in found} <= {path.name, f"{path.name}-wal"}
        assert {leak.plaintext.text for leak in found} == {PLANTED_VALUE, PLANTED_BYTES.decode()}
    else:
        spool = leaks.Spool(tmp_path / "seen.spool")
        leaks.spool_postgres(database, spool)
        found = [str(leak) for leak in spool.leaks(matcher)]
        spool.close()
        assert found == ["secret value planted-… in PostgreSQL table master_key_checks"] * 2


def test_the_failure_names_each_leak_and_never_a_whole_plaintext() -> None:
    registry = leaks.Registry()
    registry.add(PLANTED_KEY, "key secret")
    found = [leaks.Leak(leaks.Plaintext(PLANTED_KEY, "key secret"), "x.log")]
    message = leaks.describe(found, registry)
    assert message == (
        "1 plaintext(s) found where none may be (of 1 tracked):\n"
        "  key secret mfk_test_Plan… in x.log"
    )


def test_a_tests_captured_output_is_searched_once_per_phase(tmp_path: Path) -> None:
    scan = leaks.LeakScan(tmp_path)
    scan.registry.add(PLANTED_KEY, "key secret")
    printed = [("Captured stdout setup", f"printed {PLANTED_KEY}\n")]
    for when, sections in (("setup", printed), ("call", [*printed, ("Captured log call", "")])):
        scan.pytest_runtest_logreport(
            pytest.TestReport("tests/x.py::t", ("x.py", 1, "t"), {}, "passed", None, when, sections)
        )
    assert [str(leak) for leak in scan.leaks()] == [
        "key secret mfk_test_Plan… in Captured stdout setup of tests/x.py::t"
    ]
    assert scan.spool.names == ["Captured stdout setup of tests/x.py::t"]
