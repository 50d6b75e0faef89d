"""Jobs made through the service, for the claim and worker tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from forge.config import Settings
from forge.db import Database
from forge.jobs import service
from forge.jobs.models import Job
from forge.tenancy.models import Team
from tests.factories import World


@dataclass
class Jobs:
    database: Database
    team: Team

    def enqueue(self, type: str = "test.echo", max_attempts: int = 5, **payload: object) -> str:
        with self.database.session() as session:
            job = service.enqueue(
                session,
                type=type,
                team_id=self.team.id,
                mode="test",
                resource=("environment", "env_none"),
                payload=dict(payload),
                max_attempts=max_attempts,
            )
            return job.id

    def get(self, job_id: str) -> Job:
        with self.database.session() as session:
            return session.get_one(Job, job_id)


@pytest.fixture
def jobs(world: World, database: Database) -> Jobs:
    return Jobs(database, world.team())


@pytest.fixture
def worker_settings(settings: Settings) -> Settings:
    """A short job lease, so renewals and takeovers happen within a test."""
    return settings.model_copy(update={"job_lease_seconds": 1, "worker_concurrency": 4})
