"""How fast `mf` starts and finishes, one command: `.venv/bin/python bench/cli_startup.py`.

Wall time of whole processes, median of ROUNDS runs each, rounds interleaved so every command
sees the same machine: `python -c pass` (the interpreter's own floor, the baseline), `mf --help`
and `mf sites list` (plain and `--json`) against a local `forge serve` on embedded SQLite.
Bar: `mf --help` and `mf sites list` each under 0.25 s. Two floors below which mf itself cannot
go, nothing of mf in either: "typer alone" (`import typer`, which every Typer program pays,
`mf --help` included) and "libraries alone" (what `mf sites list` needs: Typer, which in 0.29
coerces every non-flag option through pydantic; httpx and its httpcore; Rich), with "typer + its
pydantic" between them (the share of that floor Typer's pydantic coercion takes). CPU time
(user + system) of the same runs is printed beside the wall time: on a shared machine it moves
less with the load. The import profile of `mf sites list` (top cumulative costs,
`-X importtime`) follows.

The runs may write bytecode (PYTHONDONTWRITEBYTECODE is dropped from their environment): an
installed mf has its .pyc files, and recompiling mf's and the SDK's sources on every run would
measure the compiler rather than mf.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time

from common import VENV_BIN, forge_instance

ROUNDS = 10
BAR_SECONDS = 0.25
PYTHON = str(VENV_BIN / "python")
MF = str(VENV_BIN / "mf")
TYPER_COERCION = "import typer, typer._adapters"  # Typer and the pydantic it coerces options with
# httpx imports httpcore (and h11) only when a transport is made: a request needs them.
LIBRARIES = (
    f"import sys; sys.modules['httpx._main'] = None; {TYPER_COERCION}, httpx, httpcore, "
    "rich.console, rich.table"
)


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `command` (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def import_profile(env: dict[str, str], top: int = 10) -> list[tuple[float, str]]:
    done = subprocess.run(
        [PYTHON, "-X", "importtime", MF, "sites", "list"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            if len(name) - len(name.lstrip()) <= 3:  # top-level imports and their children
                rows.append((int(parts[1]) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    with forge_instance() as (created, port, _server):
        env = {
            **os.environ,
            "FORGE_TOKEN": created["key"]["secret"],
            "FORGE_API_URL": f"http://127.0.0.1:{port}",
            "NO_COLOR": "1",
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        commands = {
            "python -c pass": [PYTHON, "-c", "pass"],
            # What mf cannot start without: its libraries' imports, nothing of mf itself.
            "typer alone": [PYTHON, "-c", "import typer"],
            "typer + its pydantic": [PYTHON, "-c", TYPER_COERCION],
            "libraries alone": [PYTHON, "-c", LIBRARIES],
            "mf --help": [MF, "--help"],
            "mf sites list": [MF, "sites", "list"],
            "mf sites list --json": [MF, "sites", "list", "--json"],
        }
        for command in commands.values():  # warm the page cache and .pyc files
            timed(command, env)
        start_load = os.getloadavg()
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(ROUNDS):
            for name, command in commands.items():
                samples[name].append(timed(command, env))
        profile = import_profile(env)

    load = os.getloadavg()
    print(
        f"median of {ROUNDS} runs, interleaved; load average (1 min) {start_load[0]:.2f} "
        f"before, {load[0]:.2f} after, on {os.cpu_count()} CPUs"
    )
    print(f"{'command':24} {'wall s':>8} {'cpu s':>8} {'wall/pass':>10}  bar")
    floor = statistics.median(w for w, _ in samples["python -c pass"])
    for name, runs in samples.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        verdict = ""
        if name in ("mf --help", "mf sites list"):
            verdict = "PASS" if wall < BAR_SECONDS else "FAIL"
            verdict += f" (< {BAR_SECONDS} s)"
        print(f"{name:24} {wall:8.3f} {cpu:8.3f} {wall / floor:10.1f}  {verdict}")
    print("\nimport profile of `mf sites list` (cumulative seconds, top level):")
    for seconds, module in profile:
        print(f"  {seconds:6.3f}  {module}")


if __name__ == "__main__":
    main()
