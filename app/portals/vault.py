"""The token vault: portal secrets encrypted at rest with MultiFernet (first key encrypts, all decrypt)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select

from app.extensions import AnySession
from app.models import Portal

ENCRYPTED_FIELDS = ("access_token_enc", "refresh_token_enc")


class UndecryptableSecret(Exception):
    """A stored secret that none of TOKEN_KEYS can decrypt: a key was dropped too early."""

    def __init__(self, member_id: str, field: str) -> None:
        super().__init__(
            f"portal {member_id}: {field} cannot be decrypted with any key in TOKEN_KEYS; "
            "restore the key it was written with, or reinstall the app on that portal"
        )
        self.member_id = member_id
        self.field = field


class TokenVault:
    """Encrypts and decrypts portal secrets under TOKEN_KEYS."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._primary = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        """Encrypt under the first key."""
        return self._primary.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str, *, member_id: str, field: str) -> str:
        """Decrypt with any key, or raise UndecryptableSecret naming the portal."""
        try:
            return self._all.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret(member_id, field) from None

    def is_current(self, ciphertext: str) -> bool:
        """Tell whether the first key already decrypts this ciphertext."""
        try:
            self._primary.decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True

    def reencrypt(self, ciphertext: str, *, member_id: str, field: str) -> str:
        """Re-encrypt under the first key (MultiFernet.rotate), naming the portal on failure."""
        try:
            return self._all.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret(member_id, field) from None


@dataclass
class RotationReport:
    rotated: int = 0  # secrets re-encrypted under the first key
    current: int = 0  # secrets already under the first key, left as they were


def rotate_secrets(session: AnySession, vault: TokenVault, *, batch_size: int = 200) -> RotationReport:
    """Re-encrypt every stored secret under the first key, one committed batch at a time."""
    report = RotationReport()
    for batch in _portal_batches(session, batch_size):
        for portal in batch:
            _rotate_portal(portal, vault, report)
        session.commit()
    return report


def _rotate_portal(portal: Portal, vault: TokenVault, report: RotationReport) -> None:
    """Rotate one portal's encrypted fields; a second run finds them current and changes nothing."""
    for field in ENCRYPTED_FIELDS:
        ciphertext = getattr(portal, field)
        if ciphertext is None:
            continue
        if vault.is_current(ciphertext):
            report.current += 1
            continue
        setattr(portal, field, vault.reencrypt(ciphertext, member_id=portal.member_id, field=field))
        report.rotated += 1


def _portal_batches(session: AnySession, batch_size: int) -> Iterator[list[Portal]]:
    """Yield portals in id order, `batch_size` at a time (keyset pagination, so commits don't shift pages)."""
    last_id = 0
    while True:
        query = select(Portal).where(Portal.id > last_id).order_by(Portal.id).limit(batch_size)
        batch = list(session.scalars(query))
        if not batch:
            return
        yield batch
        last_id = batch[-1].id
