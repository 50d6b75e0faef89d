"""What secret routes need besides the caller: the keyring, and the seed-002 path resolver."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select

from forge.crypto.keyring import Keyring
from forge.errors import NotFound
from forge.http.auth import Access, resolves
from forge.secrets import masterkey
from forge.sites import service as sites
from forge.sites.models import Environment, Site
from forge.tenancy.models import Team


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
    session, principal = access.session, access.principal
    team = session.get(Team, principal.team_id)
    if team is None or team.slug != params["o"]:
        raise NotFound(f"No team {params['o']!r}.", param="o")
    site_id = session.scalar(
        select(Site.id).where(
            Site.team_id == team.id, Site.slug == params["p"], Site.mode == principal.mode
        )
    )
    if site_id is None:
        raise NotFound(f"No site {params['p']!r}.", param="p")
    env_id = session.scalar(
        select(Environment.id).where(
            Environment.site_id == site_id, Environment.name == params["envName"]
        )
    )
    if env_id is None:
        raise NotFound(f"No environment {params['envName']!r}.", param="envName")
    access.environment = sites.get_environment(session, principal, site_id, env_id)
