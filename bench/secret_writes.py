"""(d) `PUT` of a secret on embedded SQLite at 16 concurrent clients: writes per second, and
every accepted write present afterwards (each request sets a key of its own).

Bar: at least 500 writes/s, none lost. Run: `.venv/bin/python bench/secret_writes.py`.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ensure_wrk, forge_instance

SECONDS = 10
CONNECTIONS = 16
# Each wrk thread writes its own keys, numbered, so none repeats (wrk's threads share one
# random seed: ids come from `setup`, which runs once per thread).
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
  return wrk.format(nil, "%(path)s/K_" .. thread_id .. "_" .. counter)
end
"""


def main() -> int:
    with forge_instance({"FORGE_RATELIMIT_WRITE": str(10**9)}) as (created, port, _server):
        site = created["sites"][0]
        env = site["environments"][0]["id"]
        path = f"/v1/sites/{site['id']}/environments/{env}/secrets"
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(SCRIPT % {"secret": created["key"]["secret"], "path": path})
        wrk_args = [ensure_wrk(), "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-s", script.name]
        run = subprocess.run(
            [*wrk_args, f"http://127.0.0.1:{port}"], check=True, capture_output=True, text=True
        )
        Path(script.name).unlink()
        out = run.stdout
        sent = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        refused = int(bad.group(1)) if bad else 0
        database = sqlite3.connect(Path(created["data_dir"]) / "forge.db")
        (stored,) = database.execute(
            "SELECT count(*) FROM secrets WHERE environment_id = ? AND name LIKE 'K%'", (env,)
        ).fetchone()
        database.close()
    accepted = sent - refused
    print(
        f"PUT secret: {rate:.0f} writes/s at {CONNECTIONS} clients; {sent} sent, "
        f"{refused} refused, {accepted} accepted, {stored} stored"
    )
    # wrk counts completed requests only; one still in flight at the deadline may have landed.
    ok = rate >= 500 and refused == 0 and accepted <= stored <= accepted + CONNECTIONS
    print("PASS (bar: >= 500 writes/s, every accepted write stored)" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
