"""How `forge serve` runs uvicorn: the options every server process it starts gets.

Forge alone decides who the client is (from `FORGE_TRUSTED_PROXIES`, forge.http.client_ip), so
uvicorn's own proxy-header handling is off: by default it believes `X-Forwarded-For` from
127.0.0.1 and rewrites the client address before Forge could look.
"""

from __future__ import annotations

from typing import Any


def uvicorn_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run`, the same for one process or `--workers N`."""
    return {
        "host": host,
        "port": port,
        "workers": workers,
        "proxy_headers": False,
        "forwarded_allow_ips": "",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "loop": "uvloop",
        "http": "httptools",
    }
