"""AES-GCM secrets at rest: round trips, binding to a context, tampering, keys and rotation."""

import base64
import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.core import crypto


@pytest.fixture
def key_file(tmp_path, settings):
    """A fresh key file location and an empty keyring cache for the test."""
    settings.ATTUNE_SECRETS_KEY = ""
    settings.ATTUNE_SECRETS_OLD_KEYS = []
    settings.ATTUNE_SECRETS_KEY_FILE = tmp_path / "keys" / "secrets.key"
    crypto.keyring.cache_clear()
    yield settings.ATTUNE_SECRETS_KEY_FILE
    crypto.keyring.cache_clear()


def test_a_value_round_trips_and_the_ciphertext_hides_it(key_file):
    sealed = crypto.encrypt_json({"password": "hunter2-value"}, "ctx")

    assert sealed.startswith("aesgcm:")
    assert "hunter2" not in sealed
    assert crypto.decrypt_json(sealed, "ctx") == {"password": "hunter2-value"}
    assert crypto.encrypt_json("same", "ctx") != crypto.encrypt_json("same", "ctx")  # nonces


def test_a_ciphertext_does_not_open_in_another_context(key_file):
    sealed = crypto.encrypt("value", "datastore:system::a")

    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(sealed, "datastore:system::b")


def test_a_tampered_ciphertext_is_refused(key_file):
    scheme, kid, body = crypto.encrypt("value", "ctx").split(":")
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1

    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(f"{scheme}:{kid}:{base64.urlsafe_b64encode(bytes(raw)).decode()}", "ctx")


def test_the_key_file_is_created_once_private_and_then_reused(key_file):
    first = crypto.encrypt("value", "ctx")
    crypto.keyring.cache_clear()

    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    assert crypto.decrypt(first, "ctx") == "value"


def test_old_keys_still_decrypt_after_a_rotation(key_file, settings):
    old_key = crypto.new_key_text()
    settings.ATTUNE_SECRETS_KEY = old_key
    crypto.keyring.cache_clear()
    sealed = crypto.encrypt("value", "ctx")

    settings.ATTUNE_SECRETS_KEY = crypto.new_key_text()
    crypto.keyring.cache_clear()
    with pytest.raises(crypto.DecryptionFailed, match="rotated away"):
        crypto.decrypt(sealed, "ctx")
    settings.ATTUNE_SECRETS_OLD_KEYS = [old_key]
    crypto.keyring.cache_clear()
    assert crypto.decrypt(sealed, "ctx") == "value"
    assert not crypto.is_current(sealed)


@pytest.mark.parametrize("raw", ["not base64 !", base64.urlsafe_b64encode(b"short").decode()])
def test_a_bad_configured_key_fails_loudly(key_file, settings, raw):
    settings.ATTUNE_SECRETS_KEY = raw

    with pytest.raises(ImproperlyConfigured, match="ATTUNE_SECRETS_KEY"):
        crypto.encrypt("value", "ctx")
