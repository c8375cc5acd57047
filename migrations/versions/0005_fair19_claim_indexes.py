"""indexes of the fair claim

The claim interleaves portals (app.inbox.claims): a loose index scan over the portals with pending rows and each
portal's due rows in order need (member_id, next_attempt_at, id) over the pending rows (partial: no done
row to step over, and small); pending button clicks, claimed ahead of everything, get their own. The global (status, next_attempt_at) index that the
oldest-first claim used is dropped: nothing reads by it any more, and every index costs each insert.

Revision ID: 0005_fair19
Revises: 0005_run12
Create Date: 2026-12-02

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005_fair19"
down_revision = "0005_run12"  # chained after run12 (merged into main first)
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")
CLICKS = sa.text("status = 'pending' AND event = 'ONCRMTIMELINEITEMACTION'")


def upgrade():
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbox_pending_by_portal",
            ["member_id", "next_attempt_at", "id"],
            unique=False,
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )
        batch_op.create_index(
            "ix_inbox_pending_clicks",
            ["next_attempt_at", "id"],
            unique=False,
            postgresql_where=CLICKS,
            sqlite_where=CLICKS,
        )
        batch_op.drop_index("ix_inbox_status_next_attempt_at")


def downgrade():
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)
        batch_op.drop_index("ix_inbox_pending_clicks")
        batch_op.drop_index("ix_inbox_pending_by_portal")
