"""Re-encrypt every secret at rest with the current key (after a key rotation)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.core.crypto import decrypt, encrypt, is_current
from apps.datastore.models import KeyValuePair
from apps.executions.models import Execution
from apps.executions.sealing import reseal_secrets

BATCH = 500


class Command(BaseCommand):
    help = (
        "Re-encrypt datastore secrets and secret execution parameters with ATTUNE_SECRETS_KEY "
        "(and seal secret parameters of executions recorded before they were sealed). Rotate by "
        "moving the old key into ATTUNE_SECRETS_OLD_KEYS, setting the new one, running this, "
        "then dropping the old key."
    )

    def handle(self, *args, **options):
        keys = rotate_keys()
        executions = rotate_executions()
        self.stdout.write(f"re-encrypted {keys} datastore secrets and {executions} executions")


def rotate_keys() -> int:
    count = 0
    for pair in KeyValuePair.objects.filter(is_secret=True).iterator(chunk_size=BATCH):
        if is_current(pair.encrypted_value):
            continue
        context = pair.encryption_context()
        fresh = encrypt(decrypt(pair.encrypted_value, context), context)
        # Only if unchanged meanwhile: a concurrent write already used the current key.
        count += KeyValuePair.objects.filter(
            pk=pair.pk, encrypted_value=pair.encrypted_value
        ).update(encrypted_value=fresh)
    return count


def rotate_executions() -> int:
    count = 0
    with_secrets = Execution.objects.exclude(action_snapshot__secret_parameters=[])
    fields = ("pk", "action_snapshot", "parameters", "supplied_parameters")
    for pk, snapshot, parameters, supplied in with_secrets.values_list(*fields).iterator(BATCH):
        names = snapshot.get("secret_parameters", [])
        new_parameters = reseal_secrets(parameters, names)
        new_supplied = reseal_secrets(supplied, names)
        if (new_parameters, new_supplied) == (parameters, supplied):
            continue
        with transaction.atomic():
            Execution.objects.filter(pk=pk).update(
                parameters=new_parameters, supplied_parameters=new_supplied
            )
        count += 1
    return count
