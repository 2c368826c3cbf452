"""A full disk (a real file-size limit on the process whose flusher appends to the commit
log; SIGXFSZ ignored, as the cbserver command does) is reported, writes
are held off with ETMPFAIL once the backlog is over its limit, nothing unpersisted is ever
reported persisted, and once space is back the flusher catches up by itself."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent('''
    import asyncio, json, os, resource, signal, sys
    sys.path.insert(0, sys.argv[2])
    from couchbase.protocol import ObserveState
    from cbserver.engine.bucket import SET
    from storage_helpers import open_bucket, settle

    async def main():
        manager, bucket = await open_bucket(sys.argv[1], max_backlog_bytes=300_000)
        bucket.store(SET, b"before", b"x", 0, 0)
        await settle(manager)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        writer = os.getpid()
        soft, hard = resource.prlimit(writer, resource.RLIMIT_FSIZE)
        resource.prlimit(writer, resource.RLIMIT_FSIZE, (64 * 1024, hard))
        statuses = [bucket.store(SET, b"big-%d" % i, b"y" * 2000, 0, 0)[0] for i in range(500)]
        checkpoint = manager.bucket("default").checkpoint()
        await asyncio.sleep(1.0)
        accepted = statuses.count(0)
        report = {"done_while_full": checkpoint.done(), "health": manager.health.to_json(),
                  "state_while_full": bucket.observe(b"big-%d" % (accepted - 1))[0],
                  "statuses": sorted(set(statuses)), "accepted": accepted,
                  "throttled": bucket.throttled,
                  "before": bucket.observe(b"before")[0]}
        resource.prlimit(writer, resource.RLIMIT_FSIZE, (soft, hard))
        await asyncio.wait_for(asyncio.wrap_future(checkpoint), 30)
        await asyncio.sleep(0)
        report["state_after"] = bucket.observe(b"big-%d" % (accepted - 1))[0]
        report["states_after"] = sorted({bucket.observe(b"big-%d" % i)[0]
                                         for i, status in enumerate(statuses) if status == 0})
        report["throttled_after"] = bucket.throttled
        report["write_after"] = bucket.store(SET, b"later", b"z", 0, 0)[0]
        report["health_after"] = manager.health.status
        report["drained"] = manager.close()
        print(json.dumps(report))

    asyncio.run(main())
''')


def test_full_disk_is_reported_and_recovered_from(tmp_path) -> None:
    here = str(__import__("pathlib").Path(__file__).parent)
    result = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), here],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["done_while_full"] is False
    assert report["health"]["status"] == "failing"
    issue = report["health"]["issues"][0]
    assert issue["source"].endswith("kv.sqlite3") and "could not persist" in issue["message"]
    assert report["statuses"] == [0, 0x86]
    assert 100 < report["accepted"] < 500
    assert report["throttled"] is True and report["throttled_after"] is False
    assert report["write_after"] == 0
    assert report["state_while_full"] == 0x00
    assert report["before"] == 0x01
    assert report["state_after"] == 0x01
    assert report["states_after"] == [0x01]
    assert report["health_after"] == "healthy"
    assert report["drained"] is True
    assert "could not persist" in result.stderr
