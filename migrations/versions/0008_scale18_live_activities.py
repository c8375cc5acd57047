"""the live activities' index: the admin page counts a portal's mirror without reading its rows

The administrators' page shows how many activities of the portal the app mirrors (app.main.service). The count
read every row of the portal's mirror through the unique (member_id, activity_id) index to check `deleted`:
58 ms for a busy portal's 2,300 mirrored activities on SQLite, growing with the mirror (issue #18). A partial
index of live rows by portal answers it from the index alone. Its WHERE is spelled as SQLAlchemy renders
`~Activity.deleted` on each backend (SQLite uses a partial index only for the same term).

Revision ID: 0008_scale18
Revises: 0007_retention
Create Date: 2026-12-03

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008_scale18"
down_revision = "0007_retention"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_activities_live_by_portal",
        "activities",
        ["member_id", "deleted"],
        unique=False,
        postgresql_where=sa.text("NOT deleted"),
        sqlite_where=sa.text("deleted = 0"),
    )


def downgrade():
    op.drop_index("ix_activities_live_by_portal", table_name="activities")
