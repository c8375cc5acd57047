"""portals, inbox, activities, rate limits

The first schema: one row per installation (tokens encrypted by the vault, the application_token
kept only as a SHA-256 digest), the event inbox with its dedup key, the activity mirror and the
per-portal rate-limit bucket. Timestamps are naive UTC (app.models.UTCDateTime).

Revision ID: 0001
Revises:
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('owner_type_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('provider_id', sa.String(length=64), nullable=True),
    sa.Column('provider_type_id', sa.String(length=128), nullable=True),
    sa.Column('subject', sa.String(length=512), nullable=True),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('layout', sa.JSON(), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities')),
    sa.UniqueConstraint('member_id', 'activity_id', name='uq_activities_member_id_activity_id')
    )
    op.create_table('inbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedup_key', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'done', 'failed', name='inbox_status', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_inbox_dedup_key'))
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_inbox_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)

    op.create_table('portals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('domain', sa.String(length=255), nullable=False),
    sa.Column('client_endpoint', sa.String(length=512), nullable=False),
    sa.Column('server_endpoint', sa.String(length=512), nullable=True),
    sa.Column('scope', sa.String(length=512), nullable=False),
    sa.Column('license', sa.String(length=64), nullable=True),
    sa.Column('license_family', sa.String(length=32), nullable=True),
    sa.Column('app_status', sa.String(length=4), nullable=True),
    sa.Column('app_version', sa.String(length=32), nullable=True),
    sa.Column('state', sa.Enum('installing', 'active', 'needs_reinstall', 'uninstalled', name='portal_state', native_enum=False, length=32), nullable=False),
    sa.Column('access_token_enc', sa.Text(), nullable=True),
    sa.Column('refresh_token_enc', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('tokens_stored_at', sa.DateTime(), nullable=True),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('application_token_sha256', sa.String(length=64), nullable=True),
    sa.Column('installed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('uninstalled_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portals')),
    sa.UniqueConstraint('member_id', name=op.f('uq_portals_member_id'))
    )
    op.create_table('rate_limits',
    sa.Column('portal_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Double(), nullable=False),
    sa.Column('drained_at', sa.Double(), nullable=False),
    sa.Column('rate', sa.Double(), nullable=True),
    sa.Column('burst', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['portal_id'], ['portals.id'], name=op.f('fk_rate_limits_portal_id_portals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('portal_id', name=op.f('pk_rate_limits'))
    )


def downgrade():
    op.drop_table('rate_limits')
    op.drop_table('portals')
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_status_next_attempt_at')
        batch_op.drop_index(batch_op.f('ix_inbox_member_id'))

    op.drop_table('inbox')
    op.drop_table('activities')
