"""retention: the done rows' index for pruning, payloads stored compactly

The worker and `events prune` delete done rows past their window oldest first (app.inbox.retention): a
partial index of done rows by processed_at finds them without reading pending ones. `inbox.payload` becomes
binary: new rows hold compact JSON deflated with a preset dictionary (app.models.CompactJSON). Old rows
are kept as they are and read as before: on SQLite the column's declared type changes only (the JSON text
stays in place); on PostgreSQL json becomes bytea holding the same text (one rewrite of the table, here).

Revision ID: 0007_retention
Revises: 0006_metrics13
Create Date: 2026-12-03

"""

import json

from alembic import op
import sqlalchemy as sa

from app.models import PAYLOAD_V1, read_payload


# revision identifiers, used by Alembic.
revision = "0007_retention"
down_revision = "0006_metrics13"  # re-chained at the merge of main
branch_labels = None
depends_on = None

DONE = sa.text("status = 'done'")


def upgrade():
    op.create_index(
        "ix_inbox_done_by_processed_at",
        "inbox",
        ["processed_at"],
        unique=False,
        postgresql_where=DONE,
        sqlite_where=DONE,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE inbox ALTER COLUMN payload TYPE bytea USING convert_to(payload::text, 'UTF8')")
        return
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.alter_column("payload", existing_type=sa.JSON(), type_=sa.LargeBinary(), existing_nullable=False)


def downgrade():
    inflate_compact_rows()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE inbox ALTER COLUMN payload TYPE json USING convert_from(payload, 'UTF8')::json")
    else:
        with op.batch_alter_table("inbox", schema=None) as batch_op:
            batch_op.alter_column(
                "payload", existing_type=sa.LargeBinary(), type_=sa.JSON(), existing_nullable=False
            )
    op.drop_index("ix_inbox_done_by_processed_at", table_name="inbox")


def inflate_compact_rows(chunk=1000):
    """Rewrite compact payloads as plain JSON text (bytes on PostgreSQL), a chunk at a time: nothing lost."""
    bind = op.get_bind()
    text_value = bind.dialect.name != "postgresql"
    last = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT id, payload FROM inbox WHERE id > :last ORDER BY id LIMIT :n"), {"last": last, "n": chunk}
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        plain = [
            {"id": row_id, "p": _plain(payload, text_value)}
            for row_id, payload in rows
            if bytes(payload if not isinstance(payload, str) else payload.encode())[:1] == PAYLOAD_V1
        ]
        if plain:
            bind.execute(sa.text("UPDATE inbox SET payload = :p WHERE id = :id"), plain)


def _plain(payload, text_value):
    text = json.dumps(read_payload(payload))
    return text if text_value else text.encode()
