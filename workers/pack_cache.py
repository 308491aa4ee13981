"""Materialize a pack's stored files on this worker, once per content hash."""

import logging
import shutil
import tempfile
from pathlib import Path

from django.conf import settings

from apps.packs.archive import extract_archive
from apps.packs.models import PackContent

logger = logging.getLogger(__name__)


def pack_directory(sha256: str) -> Path:
    """Return a local directory holding the pack content `sha256`, extracting it if needed."""
    target = Path(settings.ATTUNE_PACK_CACHE_DIR) / sha256
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    archive = bytes(PackContent.objects.values_list("archive", flat=True).get(sha256=sha256))
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    extract_archive(archive, staging, max_bytes=settings.ATTUNE_PACK_UPLOAD_MAX_BYTES * 10)
    try:
        staging.rename(target)  # atomic: other processes see all of it or nothing
        logger.info("materialized pack content %s", sha256[:12])
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process got there first
    return target
