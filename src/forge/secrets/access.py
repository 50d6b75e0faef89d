"""What secret routes need besides the caller: the keyring, and the team/site/env path resolver."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request

from forge.crypto.keyring import Keyring
from forge.http.auth import Access, resolves
from forge.secrets import masterkey
from forge.sites import service as sites


async def _keyring(request: Request) -> Keyring:
    state = request.app.state
    if state.keyring is None:
        # The database was down when the app started: verify the master key on first use.
        state.keyring = masterkey.open_keyring(state.settings, state.database)
    keyring: Keyring = state.keyring
    return keyring


AppKeyring = Annotated[Keyring, Depends(_keyring)]


@resolves("o", "p", "envName")
def team_path_resolver(access: Access, params: Mapping[str, str]) -> None:
    """`/{o}/{p}/envs/{envName}`: team slug, site slug, environment name, looked up within the
    key's own team and mode (and constraint); anything else does not exist (404)."""
    env = sites.environment_by_names(
        access.reads,
        access.principal,
        (params["o"], params["p"], params["envName"]),
        ("o", "p", "envName"),
    )
    access.environment = env
