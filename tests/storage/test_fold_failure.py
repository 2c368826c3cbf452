"""A fold that fails (a real file-size limit on the writer process, so SQLite cannot grow
its WAL) is reported, leaves its segments, does not hold up durability (OBSERVE still
reports persisted, from the log) and is retried until it succeeds."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

CHILD = textwrap.dedent('''
    import asyncio, json, resource, sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from couchbase.protocol import ObserveState
    from cbserver.engine.bucket import SET
    from cbserver.storage.commit_log import list_segments
    from storage_helpers import open_bucket, settle

    async def wait_for(predicate, timeout=30.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.02)

    async def main():
        root = sys.argv[1]
        bucket_dir = Path(root) / "buckets" / "default"
        manager, bucket = await open_bucket(root, compact_idle_s=0.05)
        bucket.store(SET, b"before", b"x", 0, 0)
        await settle(manager)
        await wait_for(lambda: not list_segments(bucket_dir))
        writer = manager.bucket("default").flusher.writer.pid
        soft, hard = resource.prlimit(writer, resource.RLIMIT_FSIZE)
        resource.prlimit(writer, resource.RLIMIT_FSIZE, (4096, hard))
        for i in range(300):
            bucket.store(SET, b"doc-%d" % i, b"y" * 1000, 0, 0)
        await settle(manager)
        report = {"persisted": bucket.observe(b"doc-299")[0] == ObserveState.PERSISTED}
        await wait_for(lambda: manager.health.status != "healthy")
        report["health"] = manager.health.to_json()
        report["segments_kept"] = len(list_segments(bucket_dir))
        resource.prlimit(writer, resource.RLIMIT_FSIZE, (soft, hard))
        await wait_for(lambda: manager.health.status == "healthy"
                       and not list_segments(bucket_dir))
        report["drained"] = manager.close()
        print(json.dumps(report))

    asyncio.run(main())
''')


def test_a_failing_fold_is_reported_keeps_its_segments_and_is_retried(tmp_path) -> None:
    here = str(Path(__file__).parent)
    result = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), here],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["persisted"] is True
    issue = report["health"]["issues"][0]
    assert "cannot fold the commit log" in issue["message"], issue
    assert report["segments_kept"] >= 1
    assert report["drained"] is True
    conn = sqlite3.connect(tmp_path / "buckets" / "default" / "kv.sqlite3")
    try:
        assert conn.execute("SELECT count(*) FROM docs").fetchone()[0] == 301
    finally:
        conn.close()
