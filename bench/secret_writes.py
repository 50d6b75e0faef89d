"""(d) `PUT` of a secret on embedded SQLite at 16 concurrent clients: writes per second, and
every accepted write present afterwards.

Each wrk thread cycles over a fixed set of keys of its own (KEYS_PER_THREAD, well under the
environment's 1000), so the first write of a key creates it and every later one stores a new
version of it, as a deploy pipeline re-setting its secrets would. Afterwards the stored versions
are counted: each accepted PUT must be exactly one version (only a request still in flight at
wrk's deadline may add one more per connection), each key's versions numbered 1…n without a
gap or a double, and no request refused. A read (`GET /v1/sites/{site}`, the same pipeline) on
the same server in the same run is the baseline the rate is put against, for a noisy machine.

Bar: at least 500 writes/s, none lost, none refused. Run: `.venv/bin/python bench/secret_writes.py`.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ensure_wrk, forge_instance, wrk

SECONDS = 10
CONNECTIONS = 16
THREADS = 2
KEYS_PER_THREAD = 64
# wrk's threads share one random seed: each thread's id comes from `setup`, which runs once
# per thread, and names its keys; the thread's connections take them in turn.
SCRIPT = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
local counter = 0
wrk.method = "PUT"
wrk.body = '{"value": "a value of some thirty-two bytes"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(secret)s"
request = function()
  counter = counter + 1
  return wrk.format(nil, "%(path)s/K_" .. thread_id .. "_" .. (counter %% %(keys)d))
end
"""


def run_wrk(script_text: str, port: int) -> tuple[int, float, int]:
    """Requests completed, requests/s and non-2xx answers of one wrk run of `script_text`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(script_text)
    args = [ensure_wrk(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-s", script.name]
    run = subprocess.run(
        [*args, f"http://127.0.0.1:{port}"], check=True, capture_output=True, text=True
    )
    Path(script.name).unlink()
    out = run.stdout
    sent = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return sent, rate, int(bad.group(1)) if bad else 0


def stored(database_file: Path, env: str) -> tuple[int, int, int]:
    """The bench's keys, their stored versions, and the keys whose versions are not exactly
    1…latest_version (a lost, doubled or skipped number)."""
    database = sqlite3.connect(database_file)
    keys, versions = database.execute(
        "SELECT count(DISTINCT s.id), count(v.id) FROM secrets s"
        " LEFT JOIN secret_versions v ON v.secret_id = s.id"
        " WHERE s.environment_id = ? AND s.name LIKE 'K%'",
        (env,),
    ).fetchone()
    (gapped,) = database.execute(
        "SELECT count(*) FROM (SELECT s.id FROM secrets s"
        " LEFT JOIN secret_versions v ON v.secret_id = s.id"
        " WHERE s.environment_id = ? AND s.name LIKE 'K%' GROUP BY s.id"
        " HAVING count(v.id) != s.latest_version OR max(v.version) != s.latest_version"
        " OR count(DISTINCT v.version) != count(v.id))",
        (env,),
    ).fetchone()
    database.close()
    return keys, versions, gapped


def main() -> int:
    limits = {"FORGE_RATELIMIT_WRITE": str(10**9), "FORGE_RATELIMIT_READ": str(10**9)}
    with forge_instance(limits) as (created, port, _server):
        site = created["sites"][0]
        env = site["environments"][0]["id"]
        secret = created["key"]["secret"]
        path = f"/v1/sites/{site['id']}/environments/{env}/secrets"
        script = SCRIPT % {"secret": secret, "path": path, "keys": KEYS_PER_THREAD}
        sent, rate, refused = run_wrk(script, port)
        keys, versions, gapped = stored(Path(created["data_dir"]) / "forge.db", env)
        read_rate, read_bad = wrk(
            f"http://127.0.0.1:{port}/v1/sites/{site['id']}",
            SECONDS,
            {"Authorization": f"Bearer {secret}"},
            CONNECTIONS,
        )
    accepted = sent - refused
    print(
        f"PUT secret: {rate:.0f} writes/s at {CONNECTIONS} clients; {sent} sent, {refused} "
        f"refused, {accepted} accepted, {versions} versions stored over {keys} keys, "
        f"{gapped} keys with a lost or doubled version"
    )
    print(
        f"baseline GET /v1/sites/{{site}}: {read_rate:.0f} reads/s ({read_bad} non-2xx); "
        f"writes/reads {rate / read_rate:.2f}"
    )
    # wrk counts completed requests only; one still in flight at the deadline may have landed.
    ok = (
        rate >= 500
        and refused == 0
        and gapped == 0
        and keys <= THREADS * KEYS_PER_THREAD
        and accepted <= versions <= accepted + CONNECTIONS
    )
    verdict = "PASS (bar: >= 500 writes/s, every accepted write stored, none refused)"
    print(verdict if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
