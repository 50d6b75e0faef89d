"""A bounded mixed workload on PostgreSQL + Redis across two `forge serve` processes, then the
invariants that must hold after it.

    .venv/bin/python bench/load.py [--seconds 40] [--requests 20000] [--clients 16]

One throw-away PostgreSQL database (FORGE_TEST_POSTGRES, default
postgresql+psycopg://postgres@127.0.0.1:5432), Redis on 127.0.0.1:6379 under a key prefix of
its own, two `forge serve --no-worker --no-edge` processes on 127.0.0.1 sharing both. `clients`
concurrent clients each send their next request to either process at random, until the request
budget or the time runs out. The mix: reads (the site with the owner's key, `/v1/api-keys/self`
with a key the client made), writes (renaming a key), creates (a key), key rolls (grace `0s`)
and secret sets. Each client owns its keys and secret names, so the last accepted change of
each is known. Beside it a probe key, limited to PROBE_LIMIT reads per window, fires three times
that many reads at both processes at once.

Reported: throughput, p50/p99 per operation, answers other than the expected 2xx (none allowed)
and 429s (only the probe's). Then checked, each in both processes where a process could differ:
- every accepted secret set is a stored version with exactly its value, none extra, and the
  last accepted one is current; a deployment's values (read the designed way, `forge admin
  deployments env`) are the last accepted values;
- every created key is there with its last accepted name, its current secret authenticates,
  and every secret rolled away answers 401 (each roll took effect);
- the probe got exactly PROBE_LIMIT successes across the two processes.
Exits 1 if any invariant fails or any answer was unexpected.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from common import VENV_BIN, api_server, migrate_and_init, postgres_database

REDIS_URL = "redis://127.0.0.1:6379/0"
UNLIMITED = str(10**9)
# A long window: the probe's bucket refills one unit per WINDOW / PROBE_LIMIT seconds (72 s), far
# longer than the probe's burst lasts, so "exactly PROBE_LIMIT admitted" is exact, not a range.
WINDOW = 3600
PROBE_LIMIT = 50
NAMES_PER_CLIENT = 4
# Relative weights of the operations in the mix.
MIX = {"read site": 30, "read self": 15, "write": 15, "create": 10, "roll": 10, "secret set": 20}


@dataclass
class OwnedKey:
    id: str
    secret: str
    name: str
    retired: list[str] = field(default_factory=list)


@dataclass
class Ledger:
    """What the servers accepted: the truth the invariants are checked against."""

    values: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    keys: dict[str, OwnedKey] = field(default_factory=dict)


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unexpected: list[str] = field(default_factory=list)
    sent: int = 0


@dataclass
class Load:
    """One run's shared state: the processes, the owner's credentials, the budget."""

    clients: list[httpx.AsyncClient]
    owner: dict[str, str]
    site: str
    env: str
    deadline: float
    budget: int
    ledger: Ledger = field(default_factory=Ledger)
    tally: Tally = field(default_factory=Tally)

    def any_process(self) -> httpx.AsyncClient:
        return random.choice(self.clients)

    def secrets_path(self, name: str = "") -> str:
        base = f"/v1/sites/{self.site}/environments/{self.env}/secrets"
        return f"{base}/{name}" if name else base

    def spend(self) -> bool:
        if self.tally.sent >= self.budget or time.monotonic() >= self.deadline:
            return False
        self.tally.sent += 1
        return True

    async def call(
        self, operation: str, method: str, path: str, headers: dict[str, str], **kwargs: object
    ) -> httpx.Response | None:
        """One timed request to either process; None unless it answered 2xx."""
        started = time.perf_counter()
        try:
            response = await self.any_process().request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as err:
            self.tally.unexpected.append(f"{operation}: {type(err).__name__} {err}")
            return None
        self.tally.latencies[operation].append(time.perf_counter() - started)
        if response.status_code == 429:
            self.tally.refused[operation] += 1
        elif not response.is_success:
            self.tally.unexpected.append(f"{operation}: {response.status_code} {response.text}")
        return response if response.is_success else None


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


class Client:
    """One concurrent client: its own keys and secret names, one request at a time."""

    def __init__(self, load: Load, number: int) -> None:
        self.load = load
        self.number = number
        self.keys: list[OwnedKey] = []
        self.count = 0
        self.operations: dict[str, Callable[[], Awaitable[None]]] = {
            "read site": self.read_site,
            "read self": self.read_self,
            "write": self.rename_key,
            "create": self.create_key,
            "roll": self.roll_key,
            "secret set": self.set_secret,
        }

    def label(self) -> str:
        self.count += 1
        return f"load-{self.number}-{self.count}"

    async def run(self) -> None:
        names, weights = list(MIX), list(MIX.values())
        while self.load.spend():
            operation = random.choices(names, weights)[0]
            if operation in ("read self", "write", "roll") and not self.keys:
                operation = "create"
            await self.operations[operation]()

    async def read_site(self) -> None:
        await self.load.call("read site", "GET", f"/v1/sites/{self.load.site}", self.load.owner)

    async def read_self(self) -> None:
        key = random.choice(self.keys)
        await self.load.call("read self", "GET", "/v1/api-keys/self", bearer(key.secret))

    async def create_key(self) -> None:
        body = {"name": self.label(), "scopes": ["sites:read"], "expires_in": "1d"}
        response = await self.load.call(
            "create", "POST", "/v1/api-keys", self.load.owner, json=body
        )
        if response is not None:
            data = response.json()["data"]
            key = OwnedKey(id=data["id"], secret=data["secret"], name=data["name"])
            self.keys.append(key)
            self.load.ledger.keys[key.id] = key

    async def rename_key(self) -> None:
        key, name = random.choice(self.keys), self.label()
        path = f"/v1/api-keys/{key.id}"
        if await self.load.call("write", "PATCH", path, self.load.owner, json={"name": name}):
            key.name = name

    async def roll_key(self) -> None:
        key = random.choice(self.keys)
        path = f"/v1/api-keys/{key.id}/roll"
        response = await self.load.call("roll", "POST", path, self.load.owner, json={"grace": "0s"})
        if response is not None:
            key.retired.append(key.secret)
            key.secret = response.json()["data"]["secret"]

    async def set_secret(self) -> None:
        name = f"LOAD_{self.number}_{random.randrange(NAMES_PER_CLIENT)}"
        value = f"{self.label()}-{secrets.token_hex(8)}"
        path = self.load.secrets_path(name)
        if await self.load.call("secret set", "PUT", path, self.load.owner, json={"value": value}):
            self.load.ledger.values[name].append(value)


async def probe(load: Load, secret: str) -> tuple[int, int, float]:
    """Three times PROBE_LIMIT reads with the probe key, eight at a time, alternating
    processes: (admitted, refused, seconds taken)."""
    statuses: list[int] = []
    path = f"/v1/sites/{load.site}"
    started = time.monotonic()

    async def fire(number: int) -> None:
        response = await load.clients[number % 2].get(path, headers=bearer(secret))
        statuses.append(response.status_code)

    numbers = iter(range(3 * PROBE_LIMIT))

    async def lane() -> None:
        for number in numbers:
            await fire(number)

    await asyncio.gather(*(lane() for _ in range(8)))
    elapsed = time.monotonic() - started
    return statuses.count(200), statuses.count(429), elapsed


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(tally: Tally, elapsed: float) -> None:
    answered = sum(len(v) for v in tally.latencies.values())
    print(
        f"{answered} answers in {elapsed:.1f} s: {answered / elapsed:.0f} req/s across both "
        f"processes (load average {os.getloadavg()[0]:.1f})"
    )
    print(f"  {'operation':<11} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'429':>5}")
    for operation in MIX:
        samples = tally.latencies.get(operation, [])
        if samples:
            p50, p99 = percentile(samples, 0.50) * 1e3, percentile(samples, 0.99) * 1e3
            refused = tally.refused.get(operation, 0)
            print(f"  {operation:<11} {len(samples):>6} {p50:>8.1f} {p99:>8.1f} {refused:>5}")
    print(f"  unexpected answers: {len(tally.unexpected)}")
    for line in tally.unexpected[:10]:
        print(f"    {line[:200]}")


def stored_versions(env: dict[str, str], env_id: str) -> dict[str, list[str]]:
    """Every stored version's value of every secret of the environment, oldest first, opened
    with the master key (the bench runs as the operator)."""
    os.environ.update(env)
    from sqlalchemy import select

    import forge.models  # noqa: F401 (every mapper)
    from forge.config import load_settings
    from forge.db import Database
    from forge.secrets import service
    from forge.secrets.masterkey import open_keyring
    from forge.secrets.models import Secret
    from forge.secrets.values import open_version
    from forge.sites.models import Environment

    settings = load_settings()
    database = Database(settings.database_url)
    keyring = open_keyring(settings, database)
    try:
        with database.session() as session:
            environment = session.get_one(Environment, env_id)
            return {
                secret.name: [
                    open_version(keyring, environment, secret.name, row).decode()
                    for row in reversed(service.versions(session, secret.id))
                ]
                for secret in session.scalars(select(Secret).where(Secret.environment_id == env_id))
            }
    finally:
        database.dispose()


class Checks:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)


def check_values(checks: Checks, ledger: Ledger, stored: dict[str, list[str]]) -> None:
    for name, accepted in ledger.values.items():
        versions = stored.get(name, [])
        checks.expect(
            sorted(versions) == sorted(accepted),
            f"{name}: {len(accepted)} sets accepted, {len(versions)} versions stored, "
            f"{len(set(accepted) - set(versions))} accepted values missing",
        )
        checks.expect(bool(versions) and versions[-1] == accepted[-1], f"{name}: not the last set")


def deployed_values(load_env: dict[str, str], deployment_id: str) -> dict[str, str]:
    env_command = [str(VENV_BIN / "forge"), "admin", "deployments", "env", deployment_id]
    printed = subprocess.run(
        [*env_command, "--format", "json"], env=load_env, check=True, capture_output=True
    )
    values: dict[str, str] = json.loads(printed.stdout)
    return values


async def check_deployment(checks: Checks, load: Load, load_env: dict[str, str]) -> None:
    path = f"/v1/sites/{load.site}/environments/{load.env}/deployments"
    response = await load.clients[0].post(path, headers=load.owner)
    checks.expect(response.status_code == 201, f"deployment: {response.status_code}")
    if response.status_code == 201:
        deployed = deployed_values(load_env, response.json()["data"]["id"])
        last = {name: values[-1] for name, values in load.ledger.values.items()}
        checks.expect(deployed == last, "a deployment's values are not the last accepted sets")


async def check_keys(checks: Checks, load: Load) -> None:
    for key in load.ledger.keys.values():
        for process in load.clients:
            got = await process.get(f"/v1/api-keys/{key.id}", headers=load.owner)
            checks.expect(got.status_code == 200, f"{key.id}: {got.status_code} on {process}")
            if got.status_code == 200:
                name = got.json()["data"]["name"]
                checks.expect(name == key.name, f"{key.id}: named {name!r}, not {key.name!r}")
            current = await process.get("/v1/api-keys/self", headers=bearer(key.secret))
            checks.expect(current.status_code == 200, f"{key.id}: current secret refused")
            for old in key.retired:
                ended = await process.get("/v1/api-keys/self", headers=bearer(old))
                checks.expect(ended.status_code == 401, f"{key.id}: a rolled secret still works")


async def limited_probe_key(load: Load, load_env: dict[str, str]) -> str:
    """A key limited to PROBE_LIMIT reads per window, once both processes apply the limit."""
    body = {"name": "load-probe", "scopes": ["sites:read"], "expires_in": "1d"}
    created = (await load.clients[0].post("/v1/api-keys", headers=load.owner, json=body)).json()
    key_id, secret = str(created["data"]["id"]), str(created["data"]["secret"])
    limit = [str(VENV_BIN / "forge"), "admin", "limits", "set", "--key", key_id]
    subprocess.run(
        [*limit, "--bucket", "read", "--limit", str(PROBE_LIMIT)],
        env=load_env,
        check=True,
        capture_output=True,
    )
    for process in load.clients:
        # Each process reloads its overrides every few seconds; wait until it has (this read
        # spends nothing).
        while True:
            buckets = (await process.get("/v1/rate-limits", headers=bearer(secret))).json()
            read = next(b for b in buckets["data"]["buckets"] if b["kind"] == "read")
            if read["limit"] == PROBE_LIMIT:
                break
            await asyncio.sleep(0.2)
    return secret


async def run(
    args: argparse.Namespace, created: dict[str, Any], ports: list[int], load_env: dict[str, str]
) -> Checks:
    owner = bearer(created["key"]["secret"])
    site = created["sites"][0]
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) for port in ports]
    load = Load(
        clients=clients,
        owner=owner,
        site=site["id"],
        env=site["environments"][0]["id"],
        deadline=0.0,
        budget=args.requests,
    )
    try:
        probe_secret = await limited_probe_key(load, load_env)
        started = time.monotonic()
        load.deadline = started + args.seconds
        workload = asyncio.gather(*(Client(load, n).run() for n in range(args.clients)))
        admitted, refused, probe_seconds = await probe(load, probe_secret)
        await workload
        elapsed = time.monotonic() - started
        report(load.tally, elapsed)
        checks = Checks()
        checks.expect(not load.tally.unexpected, "answers other than 2xx and the probe's 429s")
        checks.expect(not load.tally.refused, "429s outside the probe")
        print(
            f"rate limit across both processes: {admitted} admitted, {refused} refused of "
            f"{3 * PROBE_LIMIT} in {probe_seconds:.2f} s (limit {PROBE_LIMIT} per {WINDOW} s)"
        )
        checks.expect(probe_seconds < WINDOW / PROBE_LIMIT, "the probe outlasted one unit's refill")
        checks.expect(admitted == PROBE_LIMIT, f"the probe got {admitted}, not {PROBE_LIMIT}")
        stored = stored_versions(load_env, load.env)
        check_values(checks, load.ledger, stored)
        await check_deployment(checks, load, load_env)
        await check_keys(checks, load)
    finally:
        for client in clients:
            await client.aclose()
    ledger = load.ledger
    print(
        f"checked: {sum(len(v) for v in ledger.values.values())} accepted secret sets of "
        f"{len(ledger.values)} names, {len(ledger.keys)} created keys, "
        f"{sum(len(k.retired) for k in ledger.keys.values())} rolls"
    )
    return checks


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    with postgres_database("bench") as url, ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="forge-load-"))
        load_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FORGE_")},
            "FORGE_DATABASE_URL": url,
            "FORGE_DATA_DIR": data_dir,
            "FORGE_REDIS_URL": REDIS_URL,
            "FORGE_REDIS_PREFIX": f"forge-load-{uuid.uuid4().hex[:8]}:",
            "FORGE_RATELIMIT_WINDOW": str(WINDOW),
            **{
                f"FORGE_RATELIMIT_{bucket}": UNLIMITED
                for bucket in ("READ", "WRITE", "CREATE", "AUTH_FAILURES")
            },
        }
        created = migrate_and_init(load_env)
        logs = [Path(data_dir) / f"serve-{n}.log" for n in (1, 2)]
        with ExitStack() as servers:
            ports = [servers.enter_context(api_server(load_env, log=log)) for log in logs]
            checks = asyncio.run(run(args, created, ports, load_env))
        for log in logs:
            checks.expect("Traceback" not in log.read_text(), f"a traceback in {log.name}")
    for failure in checks.failures[:20]:
        print(f"  FAILED: {failure}")
    print("PASS" if not checks.failures else f"FAIL ({len(checks.failures)} invariants)")
    return 0 if not checks.failures else 1


if __name__ == "__main__":
    sys.exit(main())
