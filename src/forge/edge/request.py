"""One parsed client request, as the edge's slow path gets it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Request:
    method: bytes
    target: bytes  # path and query, as sent
    headers: dict[bytes, bytes]  # lower-case name → value (repeats joined with ", ")
    raw_headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool
    client_ip: str

    @property
    def path(self) -> str:
        return self.target.partition(b"?")[0].decode("latin-1")

    @property
    def cacheable_method(self) -> bool:
        return self.method in (b"GET", b"HEAD")
