"""api keys: once-only expiry events, audit events by mode

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import forge.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expiry_recorded_at", forge.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_api_keys_expiry_pending", ["expiry_recorded_at", "expires_at"], unique=False
        )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mode", sa.String(length=4), nullable=True))
        batch_op.create_index(
            "ix_audit_events_team_action_created", ["team_id", "action", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_team_action_created")
        batch_op.drop_column("mode")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_expiry_pending")
        batch_op.drop_column("expiry_recorded_at")
