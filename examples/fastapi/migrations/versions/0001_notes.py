"""notes table, with a first note"""
revision = "0001"
down_revision = None

import sqlalchemy as sa
from alembic import op


def upgrade() -> None:
    notes = op.create_table(
        "notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.String, nullable=False),
    )
    op.bulk_insert(notes, [{"id": 1, "body": "migrated by alembic"}])


def downgrade() -> None:
    op.drop_table("notes")
