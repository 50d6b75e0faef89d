"""forge-sdk is its own distribution: a wheel built from clients/python alone, depending on
httpx and pydantic only; neither it nor mf imports anything of the server."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "clients"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_clients_share_nothing_with_the_server() -> None:
    sources = list(CLIENTS.rglob("*.py"))
    assert len(sources) > 20
    for source in sources:
        assert "forge" not in _imports(source), source


def test_the_sdk_imports_only_httpx_and_pydantic_beyond_the_standard_library() -> None:
    third_party = set()
    for source in (CLIENTS / "python" / "src" / "forge_sdk").rglob("*.py"):
        third_party |= {
            name
            for name in _imports(source)
            if name not in sys.stdlib_module_names and name != "forge_sdk"
        }
    assert third_party == {"httpx", "pydantic"}


def test_importing_the_sdk_loads_neither_pydantic_nor_the_server() -> None:
    probe = (
        "import sys, forge_sdk; print(sorted(m for m in ('pydantic', 'forge') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.skipif(
    os.environ.get("FORGE_TEST_DATABASE", "sqlite") != "sqlite", reason="runs in the sqlite pass"
)
def test_the_sdk_builds_as_a_wheel_on_its_own(tmp_path: Path) -> None:
    # A copy of the folder alone: proves it needs nothing around it, and keeps setuptools'
    # build/ out of the source tree.
    source = shutil.copytree(
        CLIENTS / "python", tmp_path / "forge-sdk", ignore=shutil.ignore_patterns("*.egg-info")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("forge_sdk-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert {name.split("/")[0] for name in names} == {"forge_sdk", "forge_sdk-0.1.0.dist-info"}
    assert "forge_sdk/py.typed" in names and "forge_sdk/models/keys.py" in names
    requires = sorted(
        re.split(r"[<>=!~ ]", line.split(":", 1)[1].strip())[0]
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    )
    assert requires == ["httpx", "pydantic"]
