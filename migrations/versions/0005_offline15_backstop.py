"""offline backstop: each portal's mode, mirror versions, and the mirror's effects log

Portals say how missed changes are caught up (the offline queue under a source key, or the periodic
reconcile) and when that last ran; mirror rows keep a version (sha256 of the fields) and the portal's
LAST_UPDATED, so a read that changes nothing is not written again; mirror_effects logs every write that
changed a row, with no unique key, so a change applied twice shows.

Revision ID: 0005_offline15
Revises: 0005_fair19
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_offline15'
down_revision = '0005_fair19'  # re-chained after main's 0005_run12 and 0005_fair19 at the merges
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('portals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('backstop', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('offline_connector', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('backstop_checked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('backstop_ran_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('last_updated', sa.DateTime(), nullable=True))
    op.create_table('mirror_effects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('applied_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mirror_effects'))
    )
    with op.batch_alter_table('mirror_effects', schema=None) as batch_op:
        batch_op.create_index('ix_mirror_effects_member_id_activity_id', ['member_id', 'activity_id'], unique=False)


def downgrade():
    with op.batch_alter_table('mirror_effects', schema=None) as batch_op:
        batch_op.drop_index('ix_mirror_effects_member_id_activity_id')
    op.drop_table('mirror_effects')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_column('last_updated')
        batch_op.drop_column('version')
    with op.batch_alter_table('portals', schema=None) as batch_op:
        batch_op.drop_column('backstop_ran_at')
        batch_op.drop_column('backstop_checked_at')
        batch_op.drop_column('offline_connector')
        batch_op.drop_column('backstop')
