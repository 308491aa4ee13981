"""Pack archives: build a deterministic .tar.gz of a pack directory, and extract one safely."""

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

SKIPPED_NAMES = {".git", "__pycache__", ".venv", "node_modules", ".pytest_cache"}


class ArchiveInvalid(Exception):
    """The uploaded archive is unreadable or unsafe."""


def build_archive(root: Path) -> tuple[bytes, str]:
    """Return (archive bytes, sha256): same files and modes give the same bytes and hash."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in sorted(pack_files(root)):
            add_file(tar, root, path)
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def pack_files(root: Path):
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part in SKIPPED_NAMES or part.endswith(".pyc") for part in relative.parts):
            continue
        if path.is_file() and not path.is_symlink():
            yield path


def add_file(tar: tarfile.TarFile, root: Path, path: Path) -> None:
    info = tarfile.TarInfo(path.relative_to(root).as_posix())
    info.size = path.stat().st_size
    info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
    info.mtime = 0
    with path.open("rb") as handle:
        tar.addfile(info, handle)


def extract_archive(data: bytes, destination: Path, max_bytes: int) -> None:
    """Extract a .tar.gz into `destination`, refusing links, devices and paths that escape."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = tar.getmembers()
            total = sum(m.size for m in members if m.isfile())
            if total > max_bytes:
                raise ArchiveInvalid(f"archive expands to {total} bytes, over {max_bytes}")
            for member in members:
                check_member(member)
            tar.extractall(destination, filter="data")
    except tarfile.FilterError as exc:
        raise ArchiveInvalid(f"unsafe archive member: {exc}") from exc
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveInvalid(f"not a readable .tar.gz archive: {exc}") from exc


def check_member(member: tarfile.TarInfo) -> None:
    """Refuse links, devices, absolute paths and paths that climb out of the pack."""
    if not (member.isfile() or member.isdir()):
        raise ArchiveInvalid(f"{member.name}: only files and directories allowed")
    if member.name.startswith("/") or ".." in member.name.split("/"):
        raise ArchiveInvalid(f"{member.name}: unsafe path (absolute or climbing out of the pack)")


def find_pack_root(directory: Path) -> Path:
    """Return the directory holding pack.yaml: the top level or a single folder inside it."""
    if (directory / "pack.yaml").is_file():
        return directory
    children = [p for p in directory.iterdir() if p.is_dir()]
    if len(children) == 1 and (children[0] / "pack.yaml").is_file():
        return children[0]
    raise ArchiveInvalid("archive holds no pack.yaml at its top level or in a single folder")


def read_archive_file(data: bytes, relative: str) -> bytes:
    """Return one file of a pack archive (e.g. a workflow definition) without extracting it."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            member = tar.extractfile(relative)
            if member is None:
                raise ArchiveInvalid(f"{relative} is not a file in the pack")
            return member.read()
    except KeyError as exc:
        raise ArchiveInvalid(f"{relative} is not in the pack") from exc
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveInvalid(f"not a readable .tar.gz archive: {exc}") from exc
