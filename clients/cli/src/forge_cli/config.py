"""Where credentials come from: FORGE_TOKEN / FORGE_API_URL, else the file `mf login` wrote.

The file is `$XDG_CONFIG_HOME/forge/config.json` (`~/.config/forge/config.json`), mode 0600 in a
0700 directory, written atomically so a crash never leaves a half-written or readable token.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_API_URL = "http://127.0.0.1:8000"


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "forge" / "config.json"


@dataclass(frozen=True)
class Credentials:
    token: str | None
    api_url: str
    source: str  # "FORGE_TOKEN", the config file's path, or "none"


def read_file() -> dict[str, str]:
    try:
        data = json.loads(config_path().read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def load() -> Credentials:
    stored = read_file()
    api_url = os.environ.get("FORGE_API_URL") or stored.get("api_url") or DEFAULT_API_URL
    if os.environ.get("FORGE_TOKEN"):
        return Credentials(os.environ["FORGE_TOKEN"], api_url, "FORGE_TOKEN")
    if stored.get("token"):
        return Credentials(stored["token"], api_url, str(config_path()))
    return Credentials(None, api_url, "none")


def save(token: str, api_url: str) -> Path:
    import tempfile  # only `mf login` writes; every other command only reads

    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".config-")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as out:
            json.dump({"api_url": api_url, "token": token}, out)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def forget() -> Path | None:
    path = config_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path
