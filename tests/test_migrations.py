"""The schema the migrations build is exactly the schema the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from forge import migrate
from forge.db import Database
from forge.models import metadata
from tests import leaks


def test_the_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": leaks.is_schema_object}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_the_database_is_at_the_single_head(database: Database) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(database.url))
    assert len(script.get_heads()) == 1
    assert migrate.is_current(database)
    migrate.upgrade(database)  # idempotent
    assert migrate.is_current(database)
