"""Per-environment secrets (values are write-only) and the deployments that pick them up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from forge_sdk._endpoints import Call, M, Resource, one, paged
from forge_sdk.resources._common import ENV, NOT_GIVEN, fields, present

if TYPE_CHECKING:
    from forge_sdk.models import (
        Comparison,
        Deployment,
        ImportResult,
        Secret,
        SecretDeleted,
        SecretDetail,
        SecretSet,
    )

SECRETS = ENV + "/secrets"
SECRET = SECRETS + "/{key}"


def _at(site: str, env: str, key: str | None = None) -> dict[str, str]:
    return {"site": site, "env": env} if key is None else {"site": site, "env": env, "key": key}


class Secrets(Resource[M]):
    @paged(SECRETS, "Secret", cursor="key")
    def list(self, site: str, env: str, *, limit: int | None = None) -> Call[Secret]:
        """The environment's effective secrets, inherited ones included (never values)."""
        return Call(path=_at(site, env), params={"limit": limit})

    @one("GET", SECRET, "SecretDetail")
    def get(self, site: str, env: str, key: str) -> Call[SecretDetail]:
        return Call(path=_at(site, env, key))

    @one("POST", SECRETS, "SecretDetail")
    def declare(
        self,
        site: str,
        env: str,
        key: str,
        *,
        description: str | None = None,
        required: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Call[SecretDetail]:
        """A key without a value; `required` ones block deployments until they have one."""
        body = present(key=key, description=description, required=required)
        return Call(path=_at(site, env), body=body, idempotency_key=idempotency_key)

    @one("PUT", SECRET, "SecretSet")
    def set(
        self, site: str, env: str, key: str, value: str, *, description: str | None = None
    ) -> Call[SecretSet]:
        """Set or replace the value (it is never readable again); applies on the next deploy."""
        body = present(value=value, description=description)
        return Call(path=_at(site, env, key), body=body)

    @one("PATCH", SECRET, "SecretDetail")
    def update(
        self,
        site: str,
        env: str,
        key: str,
        *,
        description: Any = NOT_GIVEN,
        required: Any = NOT_GIVEN,
    ) -> Call[SecretDetail]:
        body = fields(description=description, required=required)
        return Call(path=_at(site, env, key), body=body)

    @one("DELETE", SECRET, "SecretDeleted")
    def delete(self, site: str, env: str, key: str) -> Call[SecretDeleted]:
        """Delete the key (or its tombstone) from this environment."""
        return Call(path=_at(site, env, key))

    @one("POST", SECRET + "/tombstone", "SecretDetail")
    def tombstone(
        self, site: str, env: str, key: str, *, idempotency_key: str | None = None
    ) -> Call[SecretDetail]:
        """Stop a key inherited from a parent environment from flowing in here."""
        return Call(path=_at(site, env, key), idempotency_key=idempotency_key)

    @one("POST", SECRETS + "/import", "ImportResult")
    def import_dotenv(
        self,
        site: str,
        env: str,
        dotenv: str,
        *,
        overwrite: bool = False,
        idempotency_key: str | None = None,
    ) -> Call[ImportResult]:
        """Import a dotenv document, all or nothing; keys with a value are kept unless
        `overwrite`."""
        body = {"dotenv": dotenv, "overwrite": overwrite}
        return Call(path=_at(site, env), body=body, idempotency_key=idempotency_key)

    @one("GET", SECRETS + "/compare", "Comparison")
    def compare(self, site: str, env: str, with_env: str) -> Call[Comparison]:
        """Which keys differ from another environment of the site, without revealing values."""
        return Call(path=_at(site, env), params={"with": with_env})

    @one("POST", SECRET + "/restore", "SecretDetail")
    def restore(
        self, site: str, env: str, key: str, version: int, *, idempotency_key: str | None = None
    ) -> Call[SecretDetail]:
        """Make an old version's value current again (as a new version)."""
        return Call(
            path=_at(site, env, key), body={"version": version}, idempotency_key=idempotency_key
        )


DEPLOYMENTS = ENV + "/deployments"


class Deployments(Resource[M]):
    @one("POST", DEPLOYMENTS, "Deployment")
    def create(
        self, site: str, env: str, *, idempotency_key: str | None = None
    ) -> Call[Deployment]:
        """Deploy: snapshot the origin and the current version of every effective secret."""
        return Call(path=_at(site, env), idempotency_key=idempotency_key)

    @paged(DEPLOYMENTS, "Deployment")
    def list(self, site: str, env: str, *, limit: int | None = None) -> Call[Deployment]:
        return Call(path=_at(site, env), params={"limit": limit})

    @one("GET", DEPLOYMENTS + "/{deployment}", "Deployment")
    def get(self, site: str, env: str, deployment: str) -> Call[Deployment]:
        return Call(path={**_at(site, env), "deployment": deployment})
