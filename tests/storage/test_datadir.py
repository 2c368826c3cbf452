"""The data directory: lock, definitions file, foreign files, refusal messages."""
from __future__ import annotations

import json

import pytest

from cbserver.storage import (BucketDefinition, CorruptStoreError, DataDirLockedError,
                              StorageManager, default_data_dir)


def test_default_data_dir_is_per_user(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "cbserver"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".local" / "share" / "cbserver"


def test_second_server_on_the_same_directory_is_refused(tmp_path) -> None:
    first = StorageManager(tmp_path)
    first.open()
    with pytest.raises(DataDirLockedError, match="in use by another cbserver"):
        StorageManager(tmp_path).open()
    first.close()
    second = StorageManager(tmp_path)
    second.open()
    second.close()


def test_definitions_file_is_written_atomically_as_json(tmp_path) -> None:
    manager = StorageManager(tmp_path)
    manager.open()
    manager.define(BucketDefinition("a", ram_quota_mb=128))
    data = json.loads((tmp_path / "buckets.json").read_text())
    assert data["format"] == 1 and data["buckets"][0]["name"] == "a"
    assert not (tmp_path / "buckets.json.tmp").exists()
    manager.close()


@pytest.mark.parametrize("content", [b"{not json", b'{"format": 1}', b'[1, 2]',
                                     b'{"format": 7, "buckets": []}'])
def test_damaged_definitions_file_refuses_to_start(tmp_path, content) -> None:
    (tmp_path / "buckets.json").write_bytes(content)
    manager = StorageManager(tmp_path)
    with pytest.raises(CorruptStoreError) as caught:
        manager.open()
    assert str(tmp_path / "buckets.json") in str(caught.value)
    retry = StorageManager(tmp_path)
    retry.data_dir.acquire()
    retry.close()


def test_corrupt_bucket_database_refuses_naming_the_file(tmp_path) -> None:
    manager = StorageManager(tmp_path)
    manager.open()
    manager.define(BucketDefinition("default"))
    manager.close()
    path = tmp_path / "buckets" / "default" / "kv.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00" * 8192)
    manager = StorageManager(tmp_path)
    manager.open()
    with pytest.raises(CorruptStoreError, match=str(path)):
        manager.open_bucket("default")
    manager.close()


def test_foreign_files_are_reported_not_ignored_or_deleted(tmp_path) -> None:
    manager = StorageManager(tmp_path)
    manager.open()
    manager.define(BucketDefinition("default"))
    manager.close()
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "buckets" / "orphan").mkdir(parents=True)
    (tmp_path / "buckets" / "default").mkdir()
    (tmp_path / "buckets" / "default" / "stray.db").write_bytes(b"x")
    manager = StorageManager(tmp_path)
    manager.open()
    sources = {issue.source for issue in manager.health.issues()}
    assert sources == {str(tmp_path / "notes.txt"), str(tmp_path / "buckets" / "orphan"),
                       str(tmp_path / "buckets" / "default" / "stray.db")}
    assert manager.health.to_json()["status"] == "degraded"
    manager.close()
    assert (tmp_path / "notes.txt").exists()


def test_unsafe_bucket_names_never_become_paths(tmp_path) -> None:
    manager = StorageManager(tmp_path)
    manager.open()
    for name in ("../escape", ".hidden", "a/b", ""):
        with pytest.raises(ValueError, match="cannot be stored"):
            manager.define(BucketDefinition(name))
    manager.close()
