"""sec trust: installation generation, uninstall awaiting confirmation, a click's sealed user token

`portals.generation` names the installation a page token was minted for; `portals.uninstall_clean` and
`uninstall_requested_at` hold an ONAPPUNINSTALL until the worker has confirmed it with the platform (state
`uninstalling`, a VARCHAR value: no schema change); `inbox.user_token_enc` is a button click's user token,
sealed by the vault and erased once the click is processed.

Revision ID: 0006_sec_trust
Revises: 0005_sec_throttle
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_sec_trust'
down_revision = '0005_sec_throttle'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('portals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('generation', sa.BigInteger(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('uninstall_clean', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('uninstall_requested_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_token_enc', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_column('user_token_enc')
    with op.batch_alter_table('portals', schema=None) as batch_op:
        batch_op.drop_column('uninstall_requested_at')
        batch_op.drop_column('uninstall_clean')
        batch_op.drop_column('generation')
