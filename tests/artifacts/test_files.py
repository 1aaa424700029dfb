"""The shared checksum and atomic write."""

import hashlib

import pytest

from artifacts.files import atomic_path, sha256_file, write_atomic


def test_sha256_file_is_the_content_digest(tmp_path):
    data = bytes(range(256)) * 5000  # more than one read block
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = write_atomic(tmp_path / "sub" / "out.png", b"old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        assert tmp.parent == path.parent and tmp.suffix == ".png"
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert path.read_bytes() == b"old" and sorted(p.name for p in path.parent.iterdir()) == [
        "out.png"
    ]
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new" and len(list(path.parent.iterdir())) == 1
