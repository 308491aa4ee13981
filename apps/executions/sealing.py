"""Secret parameters at rest: an execution row holds their values only encrypted.

The worker opens them just before handing them to the runner (which sends them on stdin);
every other reader sees the mask (`Execution.masked_parameters`).
"""

from apps.core.crypto import SCHEME, decrypt, decrypt_json, encrypt, encrypt_json, is_current


def context_of(name: str) -> str:
    return f"execution-parameter:{name}"


def seal_secrets(values: dict, secret_names) -> dict:
    """Return `values` with each secret parameter's value encrypted."""
    return {
        name: encrypt_json(value, context_of(name))
        if name in secret_names and value is not None
        else value
        for name, value in values.items()
    }


def open_secrets(values: dict, secret_names) -> dict:
    """Return `values` with each sealed secret parameter decrypted."""
    return {
        name: (
            decrypt_json(value, context_of(name)) if is_sealed(name, value, secret_names) else value
        )
        for name, value in values.items()
    }


def reseal_secrets(values: dict, secret_names) -> dict:
    """Return `values` with every secret sealed with the current key (rows written before
    sealing existed hold plaintext: they are sealed now)."""
    return {name: reseal(name, value, secret_names) for name, value in values.items()}


def reseal(name: str, value, secret_names):
    if name not in secret_names or value is None:
        return value
    if not is_sealed(name, value, secret_names):
        return encrypt_json(value, context_of(name))
    if is_current(value):
        return value
    return encrypt(decrypt(value, context_of(name)), context_of(name))


def is_sealed(name: str, value, secret_names) -> bool:
    return name in secret_names and isinstance(value, str) and value.startswith(f"{SCHEME}:")
