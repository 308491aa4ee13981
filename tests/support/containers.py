"""A local busybox image for container runner tests (there is no image registry here)."""

import shutil
import subprocess
import tempfile
from pathlib import Path

from workers.runners.container_engine import ContainerEngine

IMAGE = "localhost/attune-test-busybox:1"
CONTAINERFILE = Path(__file__).resolve().parents[1] / "fixtures" / "images" / "busybox"
BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static: one static binary


def build_busybox_image(engine: ContainerEngine) -> str:
    """Build IMAGE from the host's static busybox (quick when the layers are cached)."""
    with tempfile.TemporaryDirectory(prefix="attune-image-") as context:
        shutil.copy(CONTAINERFILE / "Containerfile", context)
        shutil.copy(BUSYBOX, Path(context) / "busybox")
        subprocess.run(
            [engine.binary, "build", "--tag", IMAGE, "--file", "Containerfile", "."],
            cwd=context,
            env=engine.environment(),
            check=True,
            capture_output=True,
            timeout=300,
        )
    return IMAGE
