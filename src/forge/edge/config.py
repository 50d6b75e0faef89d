"""What an edge knows of the environments it serves: hostnames, origin, cache settings and
redirects. A snapshot, replaced whole when the configuration changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# (path, query) → (status, location) of the first matching redirect rule, or None.
Redirector = Callable[[str, str], tuple[int, str] | None]


@dataclass(frozen=True)
class EnvConfig:
    id: str
    origin_url: str | None
    default_ttl: int
    max_object_bytes: int
    redirects: Redirector | None = None


@dataclass(frozen=True)
class EdgeConfig:
    hosts: dict[bytes, EnvConfig] = field(default_factory=dict)

    def route(self, host_header: bytes) -> tuple[bytes, EnvConfig] | None:
        """The canonical host (lower-case, no port) and its environment, or None."""
        host = host_header.lower()
        env = self.hosts.get(host)
        if env is not None:
            return host, env
        if host.startswith(b"["):  # an IPv6 literal is never a Forge hostname
            return None
        host = host.partition(b":")[0].rstrip(b".")
        env = self.hosts.get(host)
        return None if env is None else (host, env)

    @property
    def environments(self) -> dict[str, EnvConfig]:
        return {env.id: env for env in self.hosts.values()}
