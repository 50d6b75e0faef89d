"""The purge agent's way to its Varnish: PURGE / SOFTPURGE by `xkey` labels and BAN for path
wildcards, each with the shared secret, answering how many objects Varnish purged."""

from __future__ import annotations

import httpx

from forge.edge.varnish.vcl import SECRET_HEADER

# Labels per request: the VCL's Varnish runs with http_req_hdr_len=65536 (docs/edge.md), and a
# label is 25 bytes and a space.
BATCH = 2000


class VarnishError(Exception):
    """Varnish did not apply a purge; the message says what it answered."""


class VarnishClient:
    def __init__(self, url: str, secret: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._secret = secret
        self._http = httpx.AsyncClient(timeout=timeout, trust_env=False)

    async def purge(self, labels: list[str], soft: bool) -> int:
        """Objects Varnish purged (soft: marked stale) of those carrying any of the labels."""
        method = "SOFTPURGE" if soft else "PURGE"
        total = 0
        for start in range(0, len(labels), BATCH):
            batch = " ".join(labels[start : start + BATCH])
            answer = await self._send(method, {"xkey-purge": batch})
            total += int(answer.headers.get("forge-purged", "0") or 0)
        return total

    async def ban(self, env_id: str, types: tuple[str, ...], path_regex: str) -> None:
        """Invalidate the environment's objects of these types whose path matches (`ban()`:
        Varnish reports no count)."""
        await self._send(
            "BAN",
            {
                "Forge-Ban-Env": env_id,
                "Forge-Ban-Types": "^(" + "|".join(types) + ")$",
                "Forge-Ban-Path": path_regex,
            },
        )

    async def _send(self, method: str, headers: dict[str, str]) -> httpx.Response:
        try:
            answer = await self._http.request(
                method, self.url + "/", headers={**headers, SECRET_HEADER: self._secret}
            )
        except httpx.HTTPError as err:
            raise VarnishError(f"Varnish at {self.url} unreachable: {type(err).__name__}") from None
        if answer.status_code != 200:
            raise VarnishError(
                f"Varnish at {self.url} answered {method} with {answer.status_code}: "
                f"{answer.text.strip()[:200]}"
            )
        return answer

    async def aclose(self) -> None:
        await self._http.aclose()
