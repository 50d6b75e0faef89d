"""Who may see which keys, and the no-escalation rule for minting, patching and rolling.

Visibility (deny by default; anything else is 404, as if it did not exist):
- a key sees only keys of its own team and mode;
- personal keys are seen by the client who owns them, and nobody else;
- service tokens are seen by the team's owners and admins (through their personal keys) and
  by the team's service tokens;
- a key pinned below its team sees only keys pinned inside its own pin.

No escalation: a key minted, patched or rolled by a caller must lie within the caller's
current effective rights (its scopes ∩ its owner's current role rights) and its pin. And a key
never holds a scope its principal can never use (`check_usable`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import Session

from forge.errors import Forbidden, NotFound, ValidationFailed
from forge.keys import scopes as catalogue
from forge.keys.models import ApiKey
from forge.keys.schemas import PIN_NAMES
from forge.principal import Constraint, Principal
from forge.sites.models import Environment, Site
from forge.tenancy.models import Project, Team

MANAGERS = frozenset({"owner", "admin"})


@dataclass(frozen=True)
class Lineage:
    """A resource and every resource above it (ids by constraint type), plus its mode."""

    ids: dict[str, str]
    mode: str | None


def lineage(session: Session, pin: tuple[str, str]) -> Lineage | None:
    kind, resource_id = pin
    ids: dict[str, str] = {}
    mode = None
    env_site_id = None
    if kind == "environment":
        env = session.get(Environment, resource_id)
        if env is None:
            return None
        ids["environment"] = env.id
        env_site_id = env.site_id
    if kind in ("site", "environment"):
        site = session.get(Site, env_site_id or resource_id)
        if site is None:
            return None
        ids["site"], mode = site.id, site.mode
        ids["project"], ids["team"] = site.project_id, site.team_id
    elif kind == "project":
        project = session.get(Project, resource_id)
        if project is None:
            return None
        ids["project"], ids["team"] = project.id, project.team_id
    elif kind == "team":
        if session.get(Team, resource_id) is None:
            return None
        ids["team"] = resource_id
    return Lineage(ids=ids, mode=mode)


def _narrowing(constraint: Constraint | None) -> Constraint | None:
    """A team pin inside its own team narrows nothing."""
    return None if constraint is None or constraint.type == "team" else constraint


def describe(pin: tuple[str, str] | None) -> str:
    return "the whole team" if pin is None else f"{PIN_NAMES[pin[0]]} {pin[1]}"


def check_pin(session: Session, caller: Principal, pin: tuple[str, str] | None) -> None:
    """The pin must name a resource of the caller's team and mode (404 otherwise) lying within
    the caller's own pin (403 otherwise; never a hint whether something outside exists)."""
    outer = _narrowing(caller.constraint)
    found = lineage(session, pin) if pin is not None else None
    if outer is not None:
        if (
            found is None
            or found.ids.get(outer.type) != outer.id
            or found.mode not in (None, caller.mode)
        ):
            raise Forbidden(
                f"The key's resource ({describe(pin)}) lies outside this key's constraint "
                f"({describe((outer.type, outer.id))}).",
                param="resource",
            )
        return
    if pin is None:
        return
    if (
        found is None
        or found.ids.get("team") != caller.team_id
        or found.mode not in (None, caller.mode)
    ):
        raise NotFound(f"No {PIN_NAMES[pin[0]]} {pin[1]!r}.", param=f"resource.{PIN_NAMES[pin[0]]}")


def check_scopes(caller: Principal, scopes: list[str]) -> None:
    exceeding = sorted(set(scopes) - caller.effective_scopes)
    if exceeding:
        raise Forbidden(
            "The key's scopes exceed what this key may do now: " + ", ".join(exceeding) + ".",
            param="scopes",
            extra={"exceeding_scopes": exceeding},
        )


def check_usable(scopes: list[str], owner_type: str) -> None:
    """A key holds only scopes its principal can use: a service token acts as its team, with a
    team admin's rights, so a scope beyond them (setting secret values, which stays with
    people) is refused as invalid, whoever mints it — an owner through the API or the
    operator — instead of being stored to fail on every request."""
    never = sorted(set(scopes) - catalogue.TEAM_PRINCIPAL_RIGHTS) if owner_type == "team" else []
    if never:
        message = (
            "scopes: a service token acts as its team and can never use "
            + ", ".join(never)
            + " (setting secret values stays with people's keys)."
        )
        raise ValidationFailed(
            message,
            param="scopes",
            extra={"errors": [{"param": "scopes", "message": message}], "unusable_scopes": never},
        )


def check_can_mint(caller: Principal, owner_type: str) -> None:
    if caller.client_id is None:
        raise Forbidden(
            "A service token cannot mint keys: personal keys belong to a person, and service "
            "tokens are minted by a team owner.",
            param="owner",
        )
    if owner_type == "team" and caller.role != "owner":
        raise Forbidden(
            f"Only a team owner may mint a service token; this key's owner is {caller.role}.",
            param="owner",
        )


def _pins_inside(session: Session, outer: Constraint) -> list[tuple[str, list[str]]]:
    """Every pin lying within `outer` (types with their ids)."""
    if outer.type == "environment":
        return [("environment", [outer.id])]
    if outer.type == "site":
        site_ids = [outer.id]
        pins: list[tuple[str, list[str]]] = [("site", site_ids)]
    else:
        site_ids = list(session.scalars(select(Site.id).where(Site.project_id == outer.id)))
        pins = [("project", [outer.id]), ("site", site_ids)]
    env_ids = list(session.scalars(select(Environment.id).where(Environment.site_id.in_(site_ids))))
    return [*pins, ("environment", env_ids)]


def visible_keys(session: Session, caller: Principal) -> Select[ApiKey]:
    owners = []
    if caller.client_id is not None:
        owners.append(and_(ApiKey.owner_type == "client", ApiKey.client_id == caller.client_id))
    if caller.client_id is None or caller.role in MANAGERS:
        owners.append(ApiKey.owner_type == "team")
    stmt = select(ApiKey).where(
        ApiKey.team_id == caller.team_id, ApiKey.mode == caller.mode, or_(false(), *owners)
    )
    outer = _narrowing(caller.constraint)
    if outer is not None:
        stmt = stmt.where(
            or_(
                false(),
                *(
                    and_(ApiKey.resource_type == kind, ApiKey.resource_id.in_(ids))
                    for kind, ids in _pins_inside(session, outer)
                    if ids
                ),
            )
        )
    return stmt


def visible_key(
    session: Session, caller: Principal, key_id: str, *, for_update: bool = False
) -> ApiKey:
    stmt = visible_keys(session, caller).where(ApiKey.id == key_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    key = session.scalar(stmt)
    if key is None:
        raise NotFound(f"No API key {key_id!r}.", param="id")
    return key


def key_pin(key: ApiKey) -> tuple[str, str] | None:
    return (key.resource_type, key.resource_id) if key.resource_type and key.resource_id else None


def check_within(
    session: Session, caller: Principal, scopes: list[str], pin: tuple[str, str] | None
) -> None:
    check_scopes(caller, scopes)
    check_pin(session, caller, pin)
