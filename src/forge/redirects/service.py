"""Redirect rule sets of one environment: read, replace whole, list versions, restore. No HTTP.

A replacement is validated in full first (`validation.check`: every problem at once), then
written as a new version under a lock on the environment's set, so of two editors racing with
the same `If-Match` exactly one wins and the other gets 412 with nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from forge.audit import service as audit
from forge.clock import utcnow
from forge.db import insert_if_absent
from forge.errors import NotFound, PreconditionFailed, ValidationFailed
from forge.principal import Principal
from forge.redirects import validation
from forge.redirects.cache import COMPILED
from forge.redirects.engine import CompiledRules, Rule
from forge.redirects.models import RedirectSet, RedirectVersion
from forge.redirects.validation import Problem
from forge.secrets.service import actor_id
from forge.sites.service import EnvironmentLike

EMPTY_RULES = b"[]"


@dataclass(frozen=True)
class RuleSet:
    """A version of a set; `rules` is its JSON array as stored and answered."""

    version: int
    rules: bytes
    updated_at: datetime | None
    updated_by: str | None

    @property
    def etag(self) -> str:
        return etag_of(self.version)


@dataclass(frozen=True)
class Written:
    rule_set: RuleSet
    warnings: list[Problem]


def etag_of(version: int) -> str:
    return f'"v{version}"'


@dataclass(frozen=True)
class Precondition:
    """An `If-Match` header: None for absent or `*` (any version), else the tags listed."""

    tags: frozenset[str] | None

    @classmethod
    def parse(cls, header: str | None) -> Precondition:
        if header is None or header.strip() == "*":
            return cls(None)
        return cls(frozenset(tag.strip() for tag in header.split(",") if tag.strip()))

    def check(self, current: int) -> None:
        if self.tags is not None and etag_of(current) not in self.tags:
            raise PreconditionFailed(
                f"If-Match {', '.join(sorted(self.tags))} no longer matches: the set is at "
                f"version {current} (ETag {etag_of(current)}). Read it again, then retry.",
                param="If-Match",
                headers={"ETag": etag_of(current)},
            )


def encode_rules(rules: Iterable[Rule]) -> bytes:
    return orjson.dumps(
        [
            {"from": r.source, "to": r.target, "status": r.status, "comment": r.comment}
            for r in rules
        ]
    )


def decode_rules(stored: bytes) -> list[Rule]:
    return [
        Rule(item["from"], item["to"], item["status"], item["comment"])
        for item in orjson.loads(stored)
    ]


def current(session: Session, env: EnvironmentLike) -> RuleSet:
    row = session.execute(
        select(
            RedirectSet.version,
            RedirectSet.updated_at,
            RedirectSet.updated_by,
            RedirectVersion.rules,
        )
        .outerjoin(
            RedirectVersion,
            (RedirectVersion.environment_id == RedirectSet.environment_id)
            & (RedirectVersion.version == RedirectSet.version),
        )
        .where(RedirectSet.environment_id == env.id)
    ).first()
    if row is None:
        return RuleSet(0, EMPTY_RULES, None, None)
    return RuleSet(row.version, row.rules or EMPTY_RULES, row.updated_at, row.updated_by)


def _checked(env: EnvironmentLike, rules: Sequence[Rule]) -> validation.Report:
    report = validation.check(rules, env.hostnames)
    if report.errors:
        first = report.errors[0]
        count = len(report.errors)
        raise ValidationFailed(
            f"The rule set has {count} problem{'s' if count > 1 else ''}, listed in "
            f"error.errors; nothing was written. First: {first.param}: {first.message}",
            param=first.param,
            extra={"errors": [p.as_dict() for p in report.errors]},
        )
    return report


def _locked_version(session: Session, env: EnvironmentLike) -> RedirectSet:
    """The environment's set pointer, locked until the transaction ends (SQLite's writes are
    already serialised by BEGIN IMMEDIATE)."""
    insert_if_absent(session, RedirectSet, {"environment_id": env.id, "version": 0})
    return session.scalars(
        select(RedirectSet)
        .where(RedirectSet.environment_id == env.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _write(
    session: Session,
    principal: Principal,
    env: EnvironmentLike,
    precondition: Precondition,
    rules: tuple[bytes, int],
    restored_from: int | None = None,
) -> RuleSet:
    pointer = _locked_version(session, env)
    precondition.check(pointer.version)
    stored, count = rules
    now, who = utcnow(), actor_id(principal)
    version = pointer.version + 1
    session.add(
        RedirectVersion(
            environment_id=env.id,
            version=version,
            rules=stored,
            rule_count=count,
            restored_from=restored_from,
            created_at=now,
            created_by=who,
        )
    )
    pointer.version, pointer.updated_at, pointer.updated_by = version, now, who
    session.flush()
    return RuleSet(version, stored, now, who)


def _record(
    session: Session, principal: Principal, env: EnvironmentLike, action: str, **data: object
) -> None:
    audit.record(
        session,
        team_id=env.site.team_id,
        action=action,
        actor=principal,
        resource_type="environment",
        resource_id=env.id,
        data=dict(data),
    )


def replace(
    session: Session,
    principal: Principal,
    env: EnvironmentLike,
    rules: Sequence[Rule],
    precondition: Precondition,
) -> Written:
    """The whole set replaced by `rules`, as a new version; 422 listing every problem (nothing
    written), 412 when `precondition` no longer holds."""
    report = _checked(env, rules)
    written = _write(session, principal, env, precondition, (encode_rules(rules), len(rules)))
    _record(
        session,
        principal,
        env,
        "redirects.replaced",
        environment_id=env.id,
        version=written.version,
        rule_count=len(rules),
    )
    return Written(written, report.warnings)


def version_row(session: Session, env: EnvironmentLike, version: int) -> RedirectVersion:
    row = session.scalar(
        select(RedirectVersion).where(
            RedirectVersion.environment_id == env.id, RedirectVersion.version == version
        )
    )
    if row is None:
        raise NotFound(f"No version {version} of this environment's redirects.", param="version")
    return row


def restore(
    session: Session,
    principal: Principal,
    env: EnvironmentLike,
    version: int,
    precondition: Precondition,
) -> Written:
    """A new version equal to `version` (checked again: the rules of checking may have grown)."""
    old = version_row(session, env, version)
    report = _checked(env, decode_rules(old.rules))
    written = _write(
        session, principal, env, precondition, (old.rules, old.rule_count), restored_from=version
    )
    _record(
        session,
        principal,
        env,
        "redirects.restored",
        environment_id=env.id,
        version=written.version,
        restored_from=version,
        rule_count=old.rule_count,
    )
    return Written(written, report.warnings)


def versions(
    session: Session, env: EnvironmentLike, limit: int, starting_after: int | None
) -> tuple[list[RedirectVersion], bool]:
    """Newest first; the cursor is the version number last seen."""
    stmt = select(RedirectVersion).where(RedirectVersion.environment_id == env.id)
    if starting_after is not None:
        stmt = stmt.where(RedirectVersion.version < starting_after)
    rows = list(session.scalars(stmt.order_by(RedirectVersion.version.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def current_rule_sets(
    session: Session, env_ids: Iterable[str]
) -> dict[str, tuple[int, list[Rule]]]:
    """For the edge: each environment's version in force and its rules, in one query (an
    environment that never had a set: version 0, no rules)."""
    wanted = list(env_ids)
    found: dict[str, tuple[int, list[Rule]]] = {env_id: (0, []) for env_id in wanted}
    rows = session.execute(
        select(RedirectSet.environment_id, RedirectSet.version, RedirectVersion.rules)
        .join(
            RedirectVersion,
            (RedirectVersion.environment_id == RedirectSet.environment_id)
            & (RedirectVersion.version == RedirectSet.version),
        )
        .where(RedirectSet.environment_id.in_(wanted))
    )
    for env_id, version, stored in rows:
        found[env_id] = (version, decode_rules(stored))
    return found


def current_versions(session: Session, env_ids: Iterable[str]) -> dict[str, int]:
    wanted = list(env_ids)
    found = dict.fromkeys(wanted, 0)
    rows = session.execute(
        select(RedirectSet.environment_id, RedirectSet.version).where(
            RedirectSet.environment_id.in_(wanted)
        )
    )
    found.update({env_id: version for env_id, version in rows})
    return found


def compiled_rule_sets(
    session: Session, env_ids: Iterable[str]
) -> dict[str, tuple[int, CompiledRules]]:
    """Each environment's set in force, compiled, through this process's cache: one small
    query for the versions, one more loading only the sets not compiled yet."""
    answer: dict[str, tuple[int, CompiledRules]] = {}
    missing = []
    for env_id, version in current_versions(session, env_ids).items():
        hit = COMPILED.get(env_id, version)
        if hit is None:
            missing.append(env_id)
        else:
            answer[env_id] = (version, hit)
    if missing:
        for env_id, (version, rules) in current_rule_sets(session, missing).items():
            answer[env_id] = (version, COMPILED.put(env_id, version, rules))
    return answer
