"""What a route gets from the request pipeline: `Access`, and the resolvers that fill it.

`Access` carries the caller, the path's resources (typed, already checked against the key's
team, mode and constraint) and the request's unit of work: one database session, opened on
first use, committed by `ForgeRoute` when the route returns (rolled back if it raised). A GET or
HEAD gets a read-only session (no write lock on SQLite, autocommit on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from forge import loop_reads
from forge.db import Database
from forge.driver import Reads
from forge.http.errors import V1
from forge.principal import Principal

if TYPE_CHECKING:
    from forge.http.idempotency import Claim
    from forge.jobs.models import Job
    from forge.sites.service import EnvironmentLike, SiteLike
    from forge.tenancy.models import Team

Bucket = Literal["read", "write", "create", "free"]
P = ParamSpec("P")
R = TypeVar("R")


class Access:
    """The caller and the path's resources, plus the request's session."""

    __slots__ = (
        "_environment",
        "_job",
        "_reads",
        "_session",
        "_site",
        "_team",
        "bucket",
        "claim",
        "client_ip",
        "database",
        "finished",
        "principal",
        "surface",
        "writes",
    )

    def __init__(
        self,
        database: Database,
        principal: Principal,
        client_ip: str,
        *,
        bucket: Bucket = "read",
        writes: bool = False,
        reads: Reads | None = None,
    ) -> None:
        self.database = database
        self.principal = principal
        self.client_ip = client_ip
        self.bucket: Bucket = bucket
        self.writes = writes
        self.claim: Claim | None = None
        self.surface = V1  # the matched route's error shape, for what the unit stores
        self.finished = False
        self._session: Session | None = None
        self._reads = reads
        self._site: SiteLike | None = None
        self._environment: EnvironmentLike | None = None
        self._team: Team | None = None
        self._job: Job | None = None

    # The path's resources, set by the route's resolver. Reading one the resolver did not load
    # is a bug in the route, not a client error.
    @property
    def site(self) -> SiteLike:
        if self._site is None:
            raise LookupError("this route's resolver loads no site")
        return self._site

    @site.setter
    def site(self, site: SiteLike) -> None:
        self._site = site

    @property
    def environment(self) -> EnvironmentLike:
        if self._environment is None:
            raise LookupError("this route's resolver loads no environment")
        return self._environment

    @environment.setter
    def environment(self, environment: EnvironmentLike) -> None:
        self._environment = environment
        self._site = environment.site

    @property
    def team(self) -> Team:
        if self._team is None:
            raise LookupError("this route's resolver loads no team")
        return self._team

    @team.setter
    def team(self, team: Team) -> None:
        self._team = team

    @property
    def job(self) -> Job:
        if self._job is None:
            raise LookupError("this route's resolver loads no job")
        return self._job

    @job.setter
    def job(self, job: Job) -> None:
        self._job = job

    @property
    def session(self) -> Session:
        if self._session is None:
            if loop_reads.current_pool() is not None:
                # A session's statements would block the event loop: a resolver that needs
                # one says so (`@resolves(..., session=True)`) and runs in a worker thread.
                raise RuntimeError("a session opened by a stage running on the event loop")
            make = self.database.sessions if self.writes else self.database.read_sessions
            self._session = make()
        return self._session

    @property
    def reads(self) -> Reads:
        """Driver-level look-ups in autocommit (`forge.driver.Reads`), for the hot path."""
        if self._reads is None:
            self._reads = self.database.reads()
        return self._reads

    @property
    def holds_transaction(self) -> bool:
        """Whether ending the unit may be a round trip: a session, or a claim to settle."""
        return self._session is not None or self.claim is not None

    async def run(self, work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """For an `async def` route: run database work off the event loop (`Database.run`)."""
        return await self.database.run(work, *args, **kwargs)

    def end_transaction(self) -> None:
        """Commit what the session did so far (reads, in practice); it carries on afterwards
        in a new transaction, its loaded objects still usable."""
        if self._session is not None:
            self._session.commit()

    def close_reads(self) -> None:
        """Hand back the look-up connection; the next `reads` takes another."""
        if self._reads is not None:
            self._reads.close()
            self._reads = None

    def finish(self, failed: bool) -> None:
        """The commit stage: commit (or roll back) and close; runs once."""
        if self.finished:
            return
        self.finished = True
        if self._reads is not None:
            self._reads.close()
        if self._session is None:
            return
        try:
            if failed:
                self._session.rollback()
            else:
                self._session.commit()
        finally:
            self._session.close()


Load = Callable[[Access, Mapping[str, str]], None]


@dataclass(frozen=True)
class PathResolver:
    """Loads a route's path resources into `Access` (404 when outside the key's reach), and
    declares the path parameters it reads, so routes document and receive them."""

    params: tuple[str, ...]
    load: Load
    session: bool = False  # it opens the unit's session (so it runs off the loop)

    def __call__(self, access: Access, params: Mapping[str, str]) -> None:
        self.load(access, params)


def resolves(*params: str, session: bool = False) -> Callable[[Load], PathResolver]:
    """`@resolves("site")` over `def load(access, params)`: a resolver reading `{site}`;
    `session=True` when it loads through `access.session` rather than `access.reads`."""

    def declare(load: Load) -> PathResolver:
        return PathResolver(params, load, session)

    return declare
