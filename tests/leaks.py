"""The whole-run leak scan: every key secret and secret value a test session mints or sets,
searched for at the session's end in its database files and test databases, its logs and every
response it received. Each is allowed only where the API reveals it by design: the create or
roll response that hands a key's secret over once, and a leak report's answer echoing the
tokens it was sent.

Collected in a session (`Registry`): every key secret `forge.keys.tokens.generate` makes in this
process (factories, API calls through the test client, services called directly), every value
`forge.secrets.rules.check_value` accepts in this process, and, from every HTTP exchange an
httpx client makes (the test client, the SDK, tests talking to a real `forge serve`), the
`secret` of a create or roll answer and the `value`/`dotenv` a request sets.

Searched at the end: every SQLite database file under the session's temporary directory and its
WAL (read in a child process: tests/disk.py), every `*.log` there (what spawned processes
wrote), the test's captured output and logs, every response (spooled to a file as it arrives,
with the by-design reveal cut out first), and the PostgreSQL test database. The suite empties
every table after each test, and SQLite here zeroes deleted rows, so the session database gets
a journal (`install_journal`): a trigger on every table copies each row written, in any
process, into a table the emptying never touches.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick
import httpx
import pytest
from sqlalchemy import Connection, text

from forge.db import Database
from forge.errors import ValidationFailed
from forge.keys import tokens
from forge.models import metadata
from forge.secrets import dotenv, rules

MIN_LENGTH = 8  # shorter values ("1", "on") are everywhere: they are not tracked
JOURNAL = "leak_scan_journal"  # SQLite: a table of the session database; PostgreSQL: a schema
MAX_SPOOLED_BODY = 1 << 20
_REVEALS_A_SECRET = re.compile(r"^/v1/api-keys(/[^/]+/roll)?$")
_ECHOES_TOKENS = "/v1/secret-scanning/github"
_SETS_A_VALUE = re.compile(r"/secrets/[^/]+(/value)?$|/secrets/import$")
_PASTED_KEY = re.compile(r"\b((?:mfk|mfs)_(?:live|test)_[0-9A-Za-z]{4})[0-9A-Za-z]{32}\b")
_PG_BYTEA = re.compile(r"\\\\x((?:[0-9a-f]{2})+)")


@dataclass(frozen=True)
class Plaintext:
    text: str
    kind: str  # "key secret" or "secret value"

    def redacted(self) -> str:
        """A key as its public prefix (what logs show of it), a value as its first 8
        characters."""
        shown = len("mfk_test_") + 4 if self.kind == "key secret" else 8
        return f"{self.text[:shown]}…"


@dataclass(frozen=True)
class Leak:
    plaintext: Plaintext
    where: str

    def __str__(self) -> str:
        return f"{self.plaintext.kind} {self.plaintext.redacted()} in {self.where}"


def _latin1(data: bytes) -> str:
    """Bytes as a str of the same length, one character per byte, for the automaton."""
    return data.decode("latin-1")


@dataclass
class Registry:
    plaintexts: dict[str, Plaintext] = field(default_factory=dict)

    def add(self, secret: str, kind: str) -> None:
        if len(secret.encode()) >= MIN_LENGTH:
            self.plaintexts.setdefault(secret, Plaintext(secret, kind))

    def matcher(self) -> Matcher:
        return Matcher(self.plaintexts.values())


class Matcher:
    """Every plaintext at once (Aho-Corasick), over the UTF-8 bytes of any haystack. A key also
    matches by its random part alone, which is all a key's secrecy is."""

    def __init__(self, plaintexts: Iterable[Plaintext]) -> None:
        self._automaton = ahocorasick.Automaton()
        for plaintext in plaintexts:
            patterns = [plaintext.text]
            if plaintext.kind == "key secret":
                patterns.append(plaintext.text.split("_", 2)[-1])
            for pattern in patterns:
                self._automaton.add_word(_latin1(pattern.encode()), plaintext)
        self.empty = len(self._automaton) == 0
        if not self.empty:
            self._automaton.make_automaton()

    def find(self, data: bytes, where: str | Callable[[int], str]) -> list[Leak]:
        """The plaintexts in `data`, each once per place (`where`: the place, or how to name
        it from the offset of a match)."""
        if self.empty:
            return []
        haystack = _latin1(data)
        found: dict[tuple[Plaintext, str], Leak] = {}
        for end, plaintext in self._automaton.iter(haystack):
            place = where if isinstance(where, str) else where(end)
            found.setdefault((plaintext, place), Leak(plaintext, place))
        return list(found.values())


class Spool:
    """Records appended to a file, scanned at the end. Their names and where each starts stay
    in memory: a name (a request path a test pasted a key into) is never mistaken for what was
    answered, and a match is named by the record it falls in."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.names: list[str] = []
        self.starts: list[int] = []
        self._size = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("wb")

    def append(self, name: str, content: bytes) -> None:
        self.names.append(_PASTED_KEY.sub(r"\1…", name))
        self.starts.append(self._size)
        self._file.write(content + b"\n")  # the newline keeps two records from joining
        self._size += len(content) + 1

    def leaks(self, matcher: Matcher) -> list[Leak]:
        self._file.flush()
        return matcher.find(self.path.read_bytes(), self._record_name)

    def _record_name(self, end: int) -> str:
        return self.names[bisect.bisect_right(self.starts, end) - 1]

    def close(self) -> None:
        self._file.close()


def files_leaks(root: Path, matcher: Matcher) -> list[Leak]:
    """Leaks in the SQLite database files (with their WAL) and the `*.log` files under `root`."""
    found: list[Leak] = []
    for name, data in _database_and_log_files(root):
        found += matcher.find(data, name)
    return found


# Run in a child process: opening a database file here would drop this process's SQLite locks
# on it (tests/disk.py). It writes, per file, a line "<length> <path>" then the bytes.
_READ_DATABASES_AND_LOGS = """
import os, sys
out = sys.stdout.buffer
for folder, _, names in os.walk(sys.argv[1]):
    for name in names:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as file:
            head = file.read(16)
            if not (head == b"SQLite format 3\\0" or name.endswith((".log", "-wal"))):
                continue
            data = head + file.read()
        out.write(f"{len(data)} {path}\\n".encode() + data)
"""


def _database_and_log_files(root: Path) -> Iterator[tuple[str, bytes]]:
    reader = subprocess.Popen(
        [sys.executable, "-c", _READ_DATABASES_AND_LOGS, str(root)], stdout=subprocess.PIPE
    )
    assert reader.stdout is not None
    with reader:
        while header := reader.stdout.readline():
            length, path = header.decode().rstrip("\n").split(" ", 1)
            yield str(Path(path).relative_to(root)), reader.stdout.read(int(length))
    assert reader.returncode == 0


def install_journal(database: Database) -> None:
    """A trigger on every table of the session database copies each row inserted or updated
    into the journal, which the emptying between tests never touches."""
    with database.engine.begin() as connection:
        if database.url.startswith("sqlite"):
            _sqlite_journal(connection)
        else:
            _postgres_journal(connection)


# Table and column names in the statements below come from our own metadata, not from input.


def _sqlite_journal(connection: Connection) -> None:
    connection.execute(text(f"CREATE TABLE IF NOT EXISTS {JOURNAL} (tbl TEXT, row BLOB)"))
    for table in metadata.sorted_tables:
        row = " || x'1f' || ".join(
            f"coalesce(CAST(NEW.\"{column.name}\" AS TEXT), '')" for column in table.columns
        )
        for event in ("INSERT", "UPDATE"):
            connection.execute(
                text(
                    f'CREATE TRIGGER IF NOT EXISTS "{JOURNAL}_{table.name}_{event.lower()}" '  # noqa: S608
                    f'AFTER {event} ON "{table.name}" BEGIN '
                    f"INSERT INTO {JOURNAL} VALUES ('{table.name}', {row}); END"
                )
            )


def _postgres_journal(connection: Connection) -> None:
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {JOURNAL}"))
    connection.execute(
        text(f"CREATE UNLOGGED TABLE IF NOT EXISTS {JOURNAL}.rows (tbl text, row text)")
    )
    connection.execute(
        text(
            f"CREATE OR REPLACE FUNCTION {JOURNAL}.record() RETURNS trigger LANGUAGE plpgsql AS "  # noqa: S608
            f"$$ BEGIN INSERT INTO {JOURNAL}.rows VALUES (TG_TABLE_NAME, row_to_json(NEW)::text);"
            " RETURN NULL; END $$"
        )
    )
    for table in metadata.sorted_tables:
        connection.execute(
            text(
                f'CREATE OR REPLACE TRIGGER {JOURNAL} AFTER INSERT OR UPDATE ON "{table.name}" '
                f"FOR EACH ROW EXECUTE FUNCTION {JOURNAL}.record()"
            )
        )


def is_schema_object(name: str | None, type_: str, parent_names: Any) -> bool:
    """For alembic's comparison: the journal is the leak scan's, not the schema's."""
    return name != JOURNAL


def spool_postgres(database: Database, spool: Spool) -> None:
    """Every row the journal holds, bytea columns decoded back to their bytes."""
    with database.engine.connect() as connection:
        rows = connection.execute(text(f"SELECT tbl, row FROM {JOURNAL}.rows"))  # noqa: S608
        for table, row in rows:
            spool.append(f"PostgreSQL table {table}", _pg_row_bytes(row))


def _pg_row_bytes(row: str) -> bytes:
    """A journal row as bytes: text as UTF-8, each bytea value (`\\\\x…` in the JSON) as the
    bytes it holds."""
    parts = _PG_BYTEA.split(row)  # text, hex digits, text, …
    return b"".join(bytes.fromhex(p) if i % 2 else p.encode() for i, p in enumerate(parts))


class HttpCapture:
    """Registers what an HTTP exchange mints or sets and spools what it answered, by-design
    reveals cut out."""

    def __init__(self, registry: Registry, spool: Spool) -> None:
        self.registry = registry
        self.spool = spool

    def exchange(self, request: httpx.Request, response: httpx.Response) -> None:
        self._register_sets(request)
        body = response.content[:MAX_SPOOLED_BODY]
        for revealed in self._revealed(request, response):
            body = body.replace(revealed.encode(), b"[revealed by design]")
        headers = "".join(f"{k}: {v}\n" for k, v in response.headers.items()).encode()
        name = f"response {response.status_code} to {request.method} {request.url.path}"
        self.spool.append(name, headers + body)

    def _register_sets(self, request: httpx.Request) -> None:
        if request.method not in ("PUT", "POST") or not _SETS_A_VALUE.search(request.url.path):
            return
        body = _json(request.content)
        if isinstance(body, dict) and isinstance(body.get("value"), str):
            self.registry.add(body["value"], "secret value")
        if isinstance(body, dict) and isinstance(body.get("dotenv"), str):
            with contextlib.suppress(ValidationFailed):  # a malformed document sets nothing
                for _line, _name, value in dotenv.parse(body["dotenv"]):
                    self.registry.add(value, "secret value")

    def _revealed(self, request: httpx.Request, response: httpx.Response) -> list[str]:
        path = request.url.path
        if request.method == "POST" and _REVEALS_A_SECRET.match(path) and response.is_success:
            answer = _json(response.content)
            data = answer.get("data") if isinstance(answer, dict) else None
            secret = data.get("secret") if isinstance(data, dict) else None
            if isinstance(secret, str):
                self.registry.add(secret, "key secret")
                return [secret]
        if request.method == "POST" and path == _ECHOES_TOKENS:
            alerts = _json(request.content)
            if isinstance(alerts, list):
                return [a["token"] for a in alerts if isinstance(a, dict) and "token" in a]
        return []


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


@contextlib.contextmanager
def collecting(registry: Registry, capture: HttpCapture) -> Iterator[None]:
    """Every key secret and secret value made in this process, and every HTTP exchange."""
    generate, check_value = tokens.generate, rules.check_value
    sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send

    def generating(family: str, mode: str) -> str:
        secret = generate(family, mode)
        registry.add(secret, "key secret")
        return secret

    def checking(value: str, param: str = "value") -> bytes:
        registry.add(value, "secret value")
        return check_value(value, param)

    def send(client: httpx.Client, request: httpx.Request, **options: Any) -> httpx.Response:
        response = sync_send(client, request, **options)
        if not options.get("stream"):
            capture.exchange(request, response)
        return response

    async def asend(
        client: httpx.AsyncClient, request: httpx.Request, **options: Any
    ) -> httpx.Response:
        response = await async_send(client, request, **options)
        if not options.get("stream"):
            capture.exchange(request, response)
        return response

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tokens, "generate", generating)
        patch.setattr(rules, "check_value", checking)
        patch.setattr(httpx.Client, "send", send)
        patch.setattr(httpx.AsyncClient, "send", asend)
        yield


class LeakScan:
    """One session's scan (a pytest plugin while the session runs: it spools every test's
    captured output and logs)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.registry = Registry()
        self.spool = Spool(folder / "leak-scan" / "seen.spool")
        self.capture = HttpCapture(self.registry, self.spool)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for section, content in report.sections:
            if content and section.endswith(report.when):  # a report repeats earlier phases
                self.spool.append(f"{section} of {report.nodeid}", content.encode())

    def leaks(self) -> list[Leak]:
        matcher = self.registry.matcher()
        found = self.spool.leaks(matcher) + files_leaks(self.folder, matcher)
        self.spool.close()
        return found


def describe(found: list[Leak], registry: Registry) -> str:
    shown = "\n".join(f"  {leak}" for leak in found[:50])
    more = f"\n  … and {len(found) - 50} more" if len(found) > 50 else ""
    return (
        f"{len(found)} plaintext(s) found where none may be (of {len(registry.plaintexts)} "
        f"tracked):\n{shown}{more}"
    )
