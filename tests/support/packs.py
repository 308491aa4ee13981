"""Register packs through the live API and wait for their environments to be built."""

import shutil
import time
from pathlib import Path

import yaml

FIXTURE_PACKS = Path(__file__).resolve().parents[1] / "fixtures" / "packs"


def copy_pack(name: str, destination: Path, ref: str) -> Path:
    """Copy fixture pack `name` to `destination/ref`, renamed `ref` (tests that change a pack
    work on their own copy)."""
    target = destination / ref
    shutil.copytree(FIXTURE_PACKS / name, target)
    metadata = yaml.safe_load((target / "pack.yaml").read_text())
    metadata.update({"ref": ref, "name": ref})
    (target / "pack.yaml").write_text(yaml.safe_dump(metadata))
    return target


def register(api, path: Path, *, shared: bool = True) -> dict:
    """Register through the API; shared (with everyone) unless asked, as the installation's
    fixture packs are meant for every test user."""
    response = api.post("/api/v1/packs/register", {"path": str(path), "shared": shared})
    assert response.status_code == 201, response.text
    return response.json()


def current_environments(pack: dict) -> dict:
    """The environments the pack's last registration asked for, by kind."""
    return {e["kind"]: e for e in pack["environments"] if e["is_current"]}


def wait_for_environments(api, ref: str, timeout: float = 300.0) -> dict:
    """Wait until none of the pack's current environments is still building; return the pack."""
    deadline = time.monotonic() + timeout
    while True:
        pack = api.get(f"/api/v1/packs/{ref}").json()
        if all(e["status"] != "building" for e in current_environments(pack).values()):
            return pack
        if time.monotonic() > deadline:
            raise AssertionError(f"environments of {ref} still building: {pack['environments']}")
        time.sleep(0.2)
