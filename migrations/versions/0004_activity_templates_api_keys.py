"""activity templates, API keys and API idempotency

Per-portal templates for app activities (subject, description, content blocks with placeholders) and the
marker that a portal got the shipped defaults once; the inbound API's keys (public prefix, SHA-256 digest of
the secret) and its idempotency rows, unique per portal and key, so two concurrent retries never both create.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('activity_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=512), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('layout', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_templates')),
    sa.UniqueConstraint('member_id', 'name', name='uq_activity_templates_member_id_name')
    )
    with op.batch_alter_table('activity_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_templates_member_id'), ['member_id'], unique=False)

    op.create_table('activity_template_seeds',
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('seeded_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_activity_template_seeds'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_keys_prefix'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_member_id'), ['member_id'], unique=False)

    op.create_table('api_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Enum('pending', 'done', name='api_request_state', native_enum=False, length=32), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_requests')),
    sa.UniqueConstraint('member_id', 'idempotency_key', name='uq_api_requests_member_id_idempotency_key')
    )


def downgrade():
    op.drop_table('api_requests')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_member_id'))

    op.drop_table('api_keys')
    op.drop_table('activity_template_seeds')
    with op.batch_alter_table('activity_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_templates_member_id'))

    op.drop_table('activity_templates')
