"""The team/site/env path surface: /{o}/{p}/envs/{envName}/secrets… (o: team slug, p: site slug).

Same model and service as /v1; only the shapes differ: bare objects, camelCase fields, and the
`{error, code}` error shape (`TeamPathRoute.error_surface`). Included after every /v1 router,
so these catch-all-looking paths never shadow them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from forge.errors import ValidationFailed
from forge.http.auth import Access, Scoped
from forge.http.errors import Surface
from forge.http.routing import ForgeRoute
from forge.secrets import listing, service
from forge.secrets.access import AppKeyring, team_path_resolver
from forge.secrets.compat_schemas import (
    COMPAT_ERROR_RESPONSES,
    CompatDeleted,
    CompatSecret,
    CompatSecretBody,
    CompatValue,
    compat_error,
)
from forge.secrets.inheritance import SecretRow
from forge.secrets.models import Secret
from forge.secrets.schemas import KeyName
from forge.sites.access import environment_of

TEAM_PATHS = Surface("team/site/env paths", compat_error, COMPAT_ERROR_RESPONSES)


class TeamPathRoute(ForgeRoute):
    error_surface = TEAM_PATHS


router = APIRouter(
    prefix="/{o}/{p}/envs/{envName}/secrets",
    tags=["secrets (team/site/env paths)"],
    route_class=TeamPathRoute,
)

Read = Annotated[Access, Scoped("secrets:read", team_path_resolver)]
Write = Annotated[Access, Scoped("secrets:write", team_path_resolver)]
SetValue = Annotated[Access, Scoped("secrets:set-value", team_path_resolver, bucket="write")]


def _out(secret: Secret | SecretRow) -> CompatSecret:
    return CompatSecret(
        name=secret.name,
        description=secret.description,
        hasValue=secret.has_value,
        createdAt=secret.created_at,
        updatedAt=secret.updated_at,
    )


@router.get("", summary="List secrets")
def list_secrets(access: Read) -> list[CompatSecret]:
    env = environment_of(access)
    return [
        _out(item.secret) for item in listing.entries(access.session, env, with_tombstones=False)
    ]


@router.post("", status_code=201, summary="Create a secret")
def create_secret(access: Write, body: CompatSecretBody) -> CompatSecret:
    secret = service.declare(
        access.session, access.principal, environment_of(access), body.name, body.description
    )
    return _out(secret)


@router.get("/{name}", summary="Get a secret by name")
def get_secret(access: Read, name: KeyName) -> CompatSecret:
    env = environment_of(access)
    return _out(listing.entry(access.session, env, name, with_tombstones=False).secret)


@router.put("/{name}", summary="Update a secret description")
def update_secret(access: Write, name: KeyName, body: CompatSecretBody) -> CompatSecret:
    if body.name != name:
        raise ValidationFailed("name: the body's name must match the path's.", param="name")
    secret = service.update_metadata(
        access.session,
        access.principal,
        environment_of(access),
        name,
        {"description": body.description},
    )
    return _out(secret)


@router.delete("/{name}", summary="Delete a secret")
def delete_secret(access: Write, name: KeyName) -> CompatDeleted:
    service.delete(access.session, access.principal, environment_of(access), name)
    return CompatDeleted(name=name)


@router.put("/{name}/value", summary="Set a secret value (owners only)")
def set_value(
    access: SetValue, keyring: AppKeyring, name: KeyName, body: CompatValue
) -> CompatSecret:
    secret = service.set_value(
        access.session,
        keyring,
        access.principal,
        environment_of(access),
        service.NewValue(name, body.value),
        must_exist=True,
    )
    return _out(secret)
