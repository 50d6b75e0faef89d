"""The secret routes: /v1/sites/{site}/environments/{env}/secrets…"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from forge.http.auth import Access, Scoped
from forge.http.envelope import Envelope, ListEnvelope, unknown_cursor
from forge.http.routing import ForgeRoute
from forge.secrets import bulk, listing, service
from forge.secrets.access import AppKeyring
from forge.secrets.listing import Entry
from forge.secrets.schemas import (
    ComparisonOut,
    ImportOut,
    KeyComparison,
    KeyName,
    SecretDeclare,
    SecretDeleted,
    SecretDetail,
    SecretImport,
    SecretOut,
    SecretPatch,
    SecretRestore,
    SecretSetOut,
    SecretValueSet,
    SecretVersionOut,
    Source,
)
from forge.sites import service as sites
from forge.sites.access import environment_of, environment_resolver

router = APIRouter(
    prefix="/v1/sites/{site}/environments/{env}/secrets", tags=["secrets"], route_class=ForgeRoute
)

SecretsRead = Annotated[Access, Scoped("secrets:read", environment_resolver)]
SecretsWrite = Annotated[Access, Scoped("secrets:write", environment_resolver)]
SecretsDeclare = Annotated[Access, Scoped("secrets:write", environment_resolver, bucket="create")]
# Setting a value, by any route: the team's value setters only (docs/secrets.md).
SecretsSetValue = Annotated[
    Access, Scoped("secrets:set-value", environment_resolver, bucket="write")
]
KeyCursor = Annotated[
    str | None, Query(max_length=256, description="The last key of the page before.")
]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1–100.")]


def _out(item: Entry, env_id: str) -> SecretOut:
    secret, source = item.secret, item.effective.source
    return SecretOut(
        key=secret.name,
        description=secret.description,
        has_value=secret.has_value,
        required=secret.required,
        tombstone=secret.tombstone,
        version=secret.latest_version if secret.has_value else None,
        created_at=secret.created_at,
        created_by=secret.created_by,
        updated_at=secret.updated_at,
        updated_by=secret.updated_by,
        source=Source(
            environment_id=source.id, environment_name=source.name, inherited=source.id != env_id
        ),
        deployed=item.deployed,
    )


def _detail(access: Access, key: str) -> SecretDetail:
    env = environment_of(access)
    item = listing.entry(access.session, env, key)
    versions = (
        service.versions(access.session, item.secret.id)
        if item.effective.source.id == env.id
        else []
    )
    return SecretDetail(
        **_out(item, env.id).model_dump(),
        versions=[
            SecretVersionOut(
                version=v.version,
                created_at=v.created_at,
                created_by=v.created_by,
                restored_from=v.restored_from,
            )
            for v in versions
        ],
    )


@router.get("", summary="List the environment's effective secrets (never values)")
def list_secrets(
    access: SecretsRead, limit: Limit = 20, starting_after: KeyCursor = None
) -> ListEnvelope[SecretOut]:
    env = environment_of(access)
    entries = listing.entries(access.session, env)
    if starting_after is not None and all(i.effective.name != starting_after for i in entries):
        raise unknown_cursor()
    items = [i for i in entries if starting_after is None or i.effective.name > starting_after]
    return ListEnvelope(
        data=[_out(item, env.id) for item in items[:limit]], has_more=len(items) > limit
    )


@router.post("", status_code=201, summary="Declare a secret without a value")
def declare_secret(access: SecretsDeclare, body: SecretDeclare) -> Envelope[SecretDetail]:
    service.declare(
        access.session,
        access.principal,
        environment_of(access),
        body.key,
        body.description,
        body.required,
    )
    return Envelope(data=_detail(access, body.key))


@router.get("/compare", summary="Compare with another environment without revealing values")
def compare_secrets(
    access: SecretsRead,
    keyring: AppKeyring,
    with_env: Annotated[
        str, Query(alias="with", max_length=64, description="The other environment's id.")
    ],
) -> Envelope[ComparisonOut]:
    env = environment_of(access)
    other = sites.get_environment(access.reads, access.principal, env.site_id, with_env)
    result = bulk.compare(access.session, keyring, env, other)
    return Envelope(
        data=ComparisonOut(
            env_id=env.id,
            with_env_id=other.id,
            keys=[KeyComparison(key=key, status=status) for key, status in result],
        )
    )


@router.post("/import", summary="Import a dotenv document, all or nothing")
def import_secrets(
    access: SecretsSetValue, keyring: AppKeyring, body: SecretImport
) -> Envelope[ImportOut]:
    env = environment_of(access)
    result = bulk.import_dotenv(
        access.session, keyring, access.principal, env, body.dotenv, body.overwrite
    )
    return Envelope(data=ImportOut(env_id=env.id, set=result.set, kept=result.kept))


@router.get("/{key}", summary="Get one secret's metadata and versions")
def get_secret(access: SecretsRead, key: KeyName) -> Envelope[SecretDetail]:
    return Envelope(data=_detail(access, key))


@router.put("/{key}", summary="Set or replace a secret's value (write-only)")
def set_secret(
    access: SecretsSetValue, keyring: AppKeyring, key: KeyName, body: SecretValueSet
) -> Envelope[SecretSetOut]:
    env = environment_of(access)
    secret = service.set_value(
        access.session,
        keyring,
        access.principal,
        env,
        service.NewValue(key, body.value, body.description),
    )
    return Envelope(data=SecretSetOut(key=secret.name, env_id=env.id, updated_at=secret.updated_at))


@router.patch("/{key}", summary="Change a secret's description or required flag")
def patch_secret(access: SecretsWrite, key: KeyName, body: SecretPatch) -> Envelope[SecretDetail]:
    changes = body.model_dump(include=body.model_fields_set)
    service.update_metadata(access.session, access.principal, environment_of(access), key, changes)
    return Envelope(data=_detail(access, key))


@router.delete("/{key}", summary="Delete a secret (or a tombstone) from this environment")
def delete_secret(access: SecretsWrite, key: KeyName) -> Envelope[SecretDeleted]:
    env = environment_of(access)
    service.delete(access.session, access.principal, env, key)
    return Envelope(data=SecretDeleted(key=key, env_id=env.id))


@router.post("/{key}/restore", summary="Make an old version's value current again")
def restore_secret(
    access: SecretsSetValue, keyring: AppKeyring, key: KeyName, body: SecretRestore
) -> Envelope[SecretDetail]:
    service.restore(
        access.session, keyring, access.principal, environment_of(access), key, body.version
    )
    return Envelope(data=_detail(access, key))


@router.post("/{key}/tombstone", status_code=201, summary="Stop an inherited key from flowing in")
def tombstone_secret(access: SecretsDeclare, key: KeyName) -> Envelope[SecretDetail]:
    service.tombstone(access.session, access.principal, environment_of(access), key)
    return Envelope(data=_detail(access, key))
