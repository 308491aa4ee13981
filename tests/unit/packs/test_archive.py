"""Pack archives: deterministic builds and safe extraction of uploads."""

import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from apps.packs.archive import ArchiveInvalid, build_archive, extract_archive, find_pack_root

FIXTURE_PACKS = Path(__file__).resolve().parents[2] / "fixtures" / "packs"
LIMIT = 1024 * 1024


def copy_of_examples(tmp_path: Path, name: str = "examples") -> Path:
    return Path(shutil.copytree(FIXTURE_PACKS / "examples", tmp_path / name))


def archive_of(members: list[tarfile.TarInfo | tuple[str, bytes]]) -> bytes:
    """Build a .tar.gz from (name, data) files and ready-made TarInfo entries."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def names_in(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getnames()


# --- build_archive ------------------------------------------------------------------------


def test_building_the_same_directory_twice_gives_the_same_hash(tmp_path):
    pack = copy_of_examples(tmp_path)

    first_data, first_hash = build_archive(pack)
    second_data, second_hash = build_archive(pack)

    assert first_hash == second_hash
    assert first_data == second_data


def test_copies_in_different_places_give_the_same_hash(tmp_path):
    assert (
        build_archive(copy_of_examples(tmp_path, "a"))[1]
        == build_archive(copy_of_examples(tmp_path, "b"))[1]
    )


def test_touching_modification_times_does_not_change_the_hash(tmp_path):
    pack = copy_of_examples(tmp_path)
    _, before = build_archive(pack)

    for path in pack.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))

    assert build_archive(pack)[1] == before


def test_changing_a_file_changes_the_hash(tmp_path):
    pack = copy_of_examples(tmp_path)
    _, before = build_archive(pack)

    (pack / "actions" / "greet.py").write_text("print('changed')\n")

    assert build_archive(pack)[1] != before


def test_adding_a_file_changes_the_hash(tmp_path):
    pack = copy_of_examples(tmp_path)
    _, before = build_archive(pack)

    (pack / "README.md").write_text("hello\n")

    assert build_archive(pack)[1] != before


def test_making_a_script_executable_changes_the_hash(tmp_path):
    pack = copy_of_examples(tmp_path)
    _, before = build_archive(pack)

    (pack / "actions" / "greet.py").chmod(0o755)

    assert build_archive(pack)[1] != before


def test_caches_and_version_control_are_left_out(tmp_path):
    pack = copy_of_examples(tmp_path)
    _, before = build_archive(pack)

    for junk in ["__pycache__/greet.cpython-311.pyc", ".git/HEAD", "actions/__pycache__/x.pyc"]:
        (pack / junk).parent.mkdir(parents=True, exist_ok=True)
        (pack / junk).write_text("junk")
    (pack / "actions" / "stray.pyc").write_bytes(b"\x00")
    data, after = build_archive(pack)

    assert after == before
    assert not [
        n for n in names_in(data) if "__pycache__" in n or ".git" in n or n.endswith(".pyc")
    ]


def test_the_archive_holds_the_pack_files_with_relative_names_and_modes(tmp_path):
    data, _ = build_archive(copy_of_examples(tmp_path))

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert "pack.yaml" in members
    assert "actions/greet.yaml" in members
    assert members["actions/args.sh"].mode == 0o755
    assert members["actions/greet.yaml"].mode == 0o644


def test_a_built_archive_extracts_to_the_same_files(tmp_path):
    pack = copy_of_examples(tmp_path)
    data, _ = build_archive(pack)

    extract_archive(data, tmp_path / "out", max_bytes=LIMIT)

    for path in pack.rglob("*"):
        if path.is_file():
            copy = tmp_path / "out" / path.relative_to(pack)
            assert copy.read_bytes() == path.read_bytes()


# --- extract_archive ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../evil", "actions/../../evil", "../../../../tmp/evil"])
def test_extract_refuses_members_that_escape_the_destination(tmp_path, name):
    destination = tmp_path / "dest"
    destination.mkdir()

    with pytest.raises(ArchiveInvalid):
        extract_archive(archive_of([("pack.yaml", b"x"), (name, b"pwned")]), destination, LIMIT)

    assert not (tmp_path / "evil").exists()


def test_extract_keeps_absolute_member_paths_inside_the_destination(tmp_path):
    destination = tmp_path / "dest"
    destination.mkdir()
    target = tmp_path / "absolute-evil"

    try:
        extract_archive(archive_of([(str(target), b"pwned")]), destination, LIMIT)
    except ArchiveInvalid:
        pass

    assert not target.exists()


def test_extract_refuses_absolute_member_paths(tmp_path):
    with pytest.raises(ArchiveInvalid):
        extract_archive(archive_of([("/etc/evil", b"pwned")]), tmp_path, LIMIT)


@pytest.mark.parametrize("link_type", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_extract_refuses_links(tmp_path, link_type):
    link = tarfile.TarInfo("actions/passwd")
    link.type = link_type
    link.linkname = "/etc/passwd" if link_type == tarfile.SYMTYPE else "pack.yaml"

    with pytest.raises(ArchiveInvalid, match="only files and directories"):
        extract_archive(archive_of([("pack.yaml", b"x"), link]), tmp_path, LIMIT)

    assert not (tmp_path / "actions" / "passwd").exists()


def test_extract_refuses_device_files(tmp_path):
    device = tarfile.TarInfo("dev")
    device.type = tarfile.CHRTYPE

    with pytest.raises(ArchiveInvalid):
        extract_archive(archive_of([device]), tmp_path, LIMIT)


def test_extract_refuses_an_archive_that_expands_beyond_the_limit(tmp_path):
    data = archive_of([("pack.yaml", b"x"), ("big.bin", b"\0" * 2000)])

    with pytest.raises(ArchiveInvalid, match="over 1000"):
        extract_archive(data, tmp_path, max_bytes=1000)

    assert not (tmp_path / "big.bin").exists()


def test_extract_accepts_an_archive_at_the_limit(tmp_path):
    extract_archive(archive_of([("a", b"x" * 600), ("b", b"y" * 400)]), tmp_path, max_bytes=1000)

    assert (tmp_path / "a").read_bytes() == b"x" * 600


@pytest.mark.parametrize(
    "data", [b"", b"not an archive at all", b"PK\x03\x04zip-ish", b"\x1f\x8b\x08truncated"]
)
def test_extract_refuses_data_that_is_not_a_gzipped_tar(tmp_path, data):
    with pytest.raises(ArchiveInvalid, match="not a readable"):
        extract_archive(data, tmp_path, LIMIT)


def test_extract_refuses_a_plain_uncompressed_tar(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("pack.yaml")
        tar.addfile(info, io.BytesIO(b""))

    with pytest.raises(ArchiveInvalid):
        extract_archive(buffer.getvalue(), tmp_path, LIMIT)


# --- find_pack_root ------------------------------------------------------------------------


def test_find_pack_root_accepts_pack_yaml_at_the_top_level(tmp_path):
    extract_archive(
        archive_of([("pack.yaml", b"name: x"), ("actions/a.yaml", b"")]), tmp_path, LIMIT
    )

    assert find_pack_root(tmp_path) == tmp_path


def test_find_pack_root_accepts_a_single_folder_holding_the_pack(tmp_path):
    extract_archive(archive_of([("mypack/pack.yaml", b"name: x")]), tmp_path, LIMIT)

    assert find_pack_root(tmp_path) == tmp_path / "mypack"


def test_find_pack_root_refuses_an_archive_without_pack_yaml(tmp_path):
    extract_archive(archive_of([("mypack/actions/a.yaml", b"")]), tmp_path, LIMIT)

    with pytest.raises(ArchiveInvalid, match="no pack.yaml"):
        find_pack_root(tmp_path)


def test_find_pack_root_refuses_several_folders(tmp_path):
    extract_archive(archive_of([("one/pack.yaml", b""), ("two/pack.yaml", b"")]), tmp_path, LIMIT)

    with pytest.raises(ArchiveInvalid):
        find_pack_root(tmp_path)


def test_find_pack_root_does_not_search_deeper_than_one_folder(tmp_path):
    extract_archive(archive_of([("outer/inner/pack.yaml", b"")]), tmp_path, LIMIT)

    with pytest.raises(ArchiveInvalid):
        find_pack_root(tmp_path)
