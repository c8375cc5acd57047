"""verify throttle

A leaky bucket per portal and per client address of frame tokens not yet verified by the portal: a token the
portal refuses keeps its unit, so a flood of made-up AUTH_IDs is refused before it costs the portal's shared
request bucket. Keyed `portal:<member_id>` or `address:<ip>`; rows idle for a window are swept.

Revision ID: 0005_sec_throttle
Revises: 0005_run12
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_sec_throttle'
down_revision = '0005_offline15'  # re-chained at the merge
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('verify_throttle',
    sa.Column('key', sa.String(length=96), nullable=False),
    sa.Column('level', sa.Double(), nullable=False),
    sa.Column('drained_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_verify_throttle'))
    )
    with op.batch_alter_table('verify_throttle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verify_throttle_drained_at'), ['drained_at'], unique=False)


def downgrade():
    with op.batch_alter_table('verify_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verify_throttle_drained_at'))

    op.drop_table('verify_throttle')
