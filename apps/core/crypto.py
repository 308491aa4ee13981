"""Authenticated encryption of secrets at rest (AES-256-GCM).

The key comes from `ATTUNE_SECRETS_KEY` (urlsafe base64 of 32 bytes) or, when that is empty,
from a key file in ATTUNE_DATA_DIR created on first use. Every ciphertext names the key that
made it (`aesgcm:<key id>:<base64 of nonce + ciphertext>`), so keys listed in
`ATTUNE_SECRETS_OLD_KEYS` still decrypt old values after a rotation. The caller's `context`
(e.g. the key's scope and name) is bound in as associated data: a ciphertext copied to another
row does not decrypt there.
"""

import base64
import functools
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SCHEME = "aesgcm"
KEY_BYTES = 32
NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """A ciphertext is damaged, was made for another context, or by a key we do not have."""


@dataclass(frozen=True)
class Keyring:
    current_id: str
    ciphers: dict  # key id -> AESGCM


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def parse_key(raw: str, name: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(raw.strip().encode())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not base64") from exc
    if len(key) != KEY_BYTES:
        raise ImproperlyConfigured(f"{name} must be {KEY_BYTES} bytes, base64-encoded")
    return key


def new_key_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_from_file(path: Path) -> bytes:
    """Read the key file, creating it first if missing.

    Several processes may start at once: the key is written to a private temporary file and
    linked into place, which fails if another process got there first; all then read the winner.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(new_key_text())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return parse_key(path.read_text(), str(path))


@functools.cache
def keyring() -> Keyring:
    if settings.ATTUNE_SECRETS_KEY:
        current = parse_key(settings.ATTUNE_SECRETS_KEY, "ATTUNE_SECRETS_KEY")
    else:
        current = key_from_file(settings.ATTUNE_SECRETS_KEY_FILE)
    keys = [current] + [
        parse_key(raw, "ATTUNE_SECRETS_OLD_KEYS") for raw in settings.ATTUNE_SECRETS_OLD_KEYS
    ]
    return Keyring(key_id(current), {key_id(key): AESGCM(key) for key in keys})


def encrypt(plaintext: str, context: str) -> str:
    """Encrypt `plaintext` with the current key, bound to `context`."""
    ring = keyring()
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = ring.ciphers[ring.current_id].encrypt(nonce, plaintext.encode(), context.encode())
    return f"{SCHEME}:{ring.current_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt(token: str, context: str) -> str:
    """Decrypt what `encrypt` made for the same `context`."""
    scheme, _, rest = token.partition(":")
    kid, _, body = rest.partition(":")
    cipher = keyring().ciphers.get(kid)
    if scheme != SCHEME or cipher is None:
        raise DecryptionFailed(f"no key {kid!r} to decrypt this value (rotated away?)")
    try:
        raw = base64.urlsafe_b64decode(body.encode())
        return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
    except (ValueError, InvalidTag) as exc:
        raise DecryptionFailed("the value is damaged or belongs elsewhere") from exc


def is_current(token: str) -> bool:
    """True if `token` was made with the current key (rotation skips it)."""
    return token.split(":", 2)[1:2] == [keyring().current_id]


def encrypt_json(value, context: str) -> str:
    return encrypt(json.dumps(value), context)


def decrypt_json(token: str, context: str):
    return json.loads(decrypt(token, context))
