"""Shared keys, styles (with examples) and collections; requests remember their shared key.

Revision ID: 0012
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "shared_keys",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", name="fk_shared_keys_user_id_users", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("kudos", sa.Float(), nullable=False),
        sa.Column("utilized", sa.Float(), nullable=False),
        sa.Column("expiry", sa.DateTime(), nullable=True),
        sa.Column("max_image_pixels", sa.Integer(), nullable=False),
        sa.Column("max_image_steps", sa.Integer(), nullable=False),
        sa.Column("max_text_tokens", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shared_keys"),
    )
    op.create_index("ix_shared_keys_user_id", "shared_keys", ["user_id"])
    op.create_table(
        "styles",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", name="fk_styles_user_id_users", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("info", sa.Text(), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("models_csv", sa.Text(), nullable=False),
        sa.Column("tags_csv", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("nsfw", sa.Boolean(), nullable=False),
        sa.Column(
            "sharedkey_id", sa.String(36),
            sa.ForeignKey("shared_keys.id", name="fk_styles_sharedkey_id_shared_keys", ondelete="SET NULL"), nullable=True,
        ),
        sa.Column("use_count", BigId, nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_styles"),
    )
    op.create_index("ix_styles_user_kind_name", "styles", ["user_id", "kind", "name"], unique=True)
    op.create_index("ix_styles_kind_name", "styles", ["kind", "name"])
    op.create_index("ix_styles_kind_public_use", "styles", ["kind", "public", "use_count"])
    op.create_index("ix_styles_sharedkey_id", "styles", ["sharedkey_id"])
    op.create_table(
        "style_examples",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("style_id", sa.String(36), sa.ForeignKey("styles.id", name="fk_style_examples_style_id_styles", ondelete="CASCADE"), nullable=False),
        sa.Column("url", sa.String(1024), nullable=False),
        sa.Column("primary", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_style_examples"),
    )
    op.create_index("ix_style_examples_style_id", "style_examples", ["style_id"])
    op.create_table(
        "collections",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", name="fk_collections_user_id_users", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("info", sa.Text(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("use_count", BigId, nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collections"),
    )
    op.create_index("ix_collections_user_name", "collections", ["user_id", "name"], unique=True)
    op.create_index("ix_collections_name", "collections", ["name"])
    op.create_table(
        "collection_styles",
        sa.Column(
            "collection_id", sa.String(36),
            sa.ForeignKey("collections.id", name="fk_collection_styles_collection_id_collections", ondelete="CASCADE"), nullable=False,
        ),
        sa.Column("style_id", sa.String(36), sa.ForeignKey("styles.id", name="fk_collection_styles_style_id_styles", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "style_id", name="pk_collection_styles"),
    )
    op.create_index("ix_collection_styles_style_id", "collection_styles", ["style_id"])
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("shared_key_id", sa.String(36), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("styled_image", BigId, nullable=False, server_default="0"))
        batch.add_column(sa.Column("styled_text", BigId, nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("styled_text")
        batch.drop_column("styled_image")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("shared_key_id")
    op.drop_index("ix_collection_styles_style_id", table_name="collection_styles")
    op.drop_table("collection_styles")
    op.drop_index("ix_collections_name", table_name="collections")
    op.drop_index("ix_collections_user_name", table_name="collections")
    op.drop_table("collections")
    op.drop_index("ix_style_examples_style_id", table_name="style_examples")
    op.drop_table("style_examples")
    for name in ("ix_styles_sharedkey_id", "ix_styles_kind_public_use", "ix_styles_kind_name", "ix_styles_user_kind_name"):
        op.drop_index(name, table_name="styles")
    op.drop_table("styles")
    op.drop_index("ix_shared_keys_user_id", table_name="shared_keys")
    op.drop_table("shared_keys")
