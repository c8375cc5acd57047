"""inbox tallies and indexes that spare the history

/metrics and the main page must not read the done rows, which grow with every event ever processed (issue
#18): parked failures get a partial index by portal (counted and listed from it alone); the partial index of
pending rows gets received_at and status, so each portal's backlog and oldest age come from it alone; a portal's recent
events an index on (member_id, id) read from its end (it replaces the one on member_id, its prefix); and
each portal's count of processed events a row in `inbox_tallies`, which app.inbox.queue adds to in the
transaction that settles the rows. The tallies start from the rows done so far (one scan, here).

Revision ID: 0006_metrics13
Revises: 0006_sec_trust
Create Date: 2026-12-02

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0006_metrics13"
down_revision = "0006_sec_trust"  # re-chained at the merge of main (sec-trust2)
branch_labels = None
depends_on = None

FAILED = sa.text("status = 'failed'")
PENDING = sa.text("status = 'pending'")


def pending_by_portal(columns):
    op.create_index(
        "ix_inbox_pending_by_portal", "inbox", columns, unique=False, postgresql_where=PENDING, sqlite_where=PENDING
    )


def upgrade():
    op.create_table(
        "inbox_tallies",
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("done", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_inbox_tallies")),
    )
    op.execute(
        "INSERT INTO inbox_tallies (member_id, done) "
        "SELECT member_id, count(*) FROM inbox WHERE status = 'done' GROUP BY member_id"
    )
    op.create_index(
        "ix_inbox_failed_by_portal",
        "inbox",
        ["member_id", "received_at", "status"],  # status: SQLite then counts from the index alone
        unique=False,
        postgresql_where=FAILED,
        sqlite_where=FAILED,
    )
    op.drop_index("ix_inbox_pending_by_portal", table_name="inbox")
    pending_by_portal(["member_id", "next_attempt_at", "id", "received_at", "status"])
    op.create_index("ix_inbox_member_id_id", "inbox", ["member_id", "id"], unique=False)
    op.drop_index("ix_inbox_member_id", table_name="inbox")


def downgrade():
    op.create_index("ix_inbox_member_id", "inbox", ["member_id"], unique=False)
    op.drop_index("ix_inbox_member_id_id", table_name="inbox")
    op.drop_index("ix_inbox_pending_by_portal", table_name="inbox")
    pending_by_portal(["member_id", "next_attempt_at", "id"])
    op.drop_index("ix_inbox_failed_by_portal", table_name="inbox")
    op.drop_table("inbox_tallies")
