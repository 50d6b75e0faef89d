"""The baseline: a bare FastAPI route returning a body the size of `GET /v1/sites/{site}`'s.

`/v1/sites/{site}` is the plain route (no annotation, as most FastAPI code is written, and as
ANCHORS.md measured it); `/typed/…` adds a return annotation, the fastest bare form, reported
beside it so nobody mistakes which baseline the bar uses."""

from fastapi import FastAPI

app = FastAPI()

SITE = {
    "id": "site_01M84SAYFXZ937PWY782SAHZNA",
    "object": "site",
    "team_id": "team_01M84SAYFRPRJXJP4K8QBH8K1S",
    "project_id": "proj_01M84SAYFWP2BKZNAR8HKBF73T",
    "slug": "demo",
    "name": "Demo",
    "mode": "test",
    "created_at": "2026-11-23T18:05:20Z",
    "updated_at": "2026-11-23T18:05:20Z",
}


@app.get("/v1/sites/{site}")
async def get_site(site: str):  # type: ignore[no-untyped-def]
    return {"data": SITE, "request_id": "req_01M84SB0WQ0NPXQKGJA17SSVK3"}


@app.get("/typed/v1/sites/{site}")
async def get_site_typed(site: str) -> dict[str, object]:
    """The same route with a return annotation: FastAPI then serialises in pydantic-core."""
    return {"data": SITE, "request_id": "req_01M84SB0WQ0NPXQKGJA17SSVK3"}
