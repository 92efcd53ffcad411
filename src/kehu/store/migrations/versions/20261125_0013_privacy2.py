"""webhook secrets encrypted at rest (issue 9 §3)

``webhook_subscriptions.secret`` widens to 500 characters and every plain ``whsec_...`` secret
becomes ``enc:v1:<Fernet token>``, the key being HKDF-SHA256 of ``KEHU_SECRET_KEY`` (what
``kehu.webhooks.secrets`` does; repeated here so that this migration never changes with the
code). Run it with the server's ``KEHU_SECRET_KEY``. The downgrade decrypts them again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 10:00:00
"""

import base64
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kehu.core import get_settings

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = "enc:v1:"
INFO = b"kehu webhook signing secrets v1"

subscriptions = sa.table(
    "webhook_subscriptions", sa.column("id", sa.Integer()), sa.column("secret", sa.String())
)


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(
        get_settings().secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def upgrade() -> None:
    """Widen the secret column and encrypt the plain secrets."""
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(200), type_=sa.String(500), existing_nullable=False
        )
    bind = op.get_bind()
    rows = bind.execute(sa.select(subscriptions.c.id, subscriptions.c.secret)).all()
    fernet = _fernet()
    for row_id, secret in rows:
        if secret.startswith(PREFIX):
            continue
        token = PREFIX + fernet.encrypt(secret.encode("utf-8")).decode("ascii")
        bind.execute(
            subscriptions.update().where(subscriptions.c.id == row_id).values(secret=token)
        )


def downgrade() -> None:
    """Decrypt the secrets and narrow the column again."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(subscriptions.c.id, subscriptions.c.secret)).all()
    fernet = _fernet()
    for row_id, secret in rows:
        if not secret.startswith(PREFIX):
            continue
        plain = fernet.decrypt(secret.removeprefix(PREFIX).encode("ascii")).decode("utf-8")
        bind.execute(
            subscriptions.update().where(subscriptions.c.id == row_id).values(secret=plain)
        )
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(500), type_=sa.String(200), existing_nullable=False
        )
