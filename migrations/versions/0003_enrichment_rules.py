"""enrichment rules

Per-portal rules: when an activity matching {provider, type, owner type, direction} is added or updated,
the worker sets a layout template's content blocks on it; counters and the last error per rule.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('enrichment_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=True),
    sa.Column('type_id', sa.Integer(), nullable=True),
    sa.Column('owner_type_id', sa.Integer(), nullable=True),
    sa.Column('direction', sa.Integer(), nullable=True),
    sa.Column('layout', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('applied_count', sa.Integer(), nullable=False),
    sa.Column('skipped_count', sa.Integer(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrichment_rules'))
    )
    with op.batch_alter_table('enrichment_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrichment_rules_member_id'), ['member_id'], unique=False)


def downgrade():
    with op.batch_alter_table('enrichment_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrichment_rules_member_id'))

    op.drop_table('enrichment_rules')
