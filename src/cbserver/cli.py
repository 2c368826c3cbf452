"""The ``cbserver`` command line."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from .loop import new_event_loop
from .samples import available_samples, install_sample, is_installed, progress_printer
from .server import BucketSpec, Server, ServerConfig
from .storage import StorageError


def _admin(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError(f"--admin needs USER:PASSWORD, got {text!r}")
    return user, password


def _bucket(text: str) -> BucketSpec:
    try:
        return BucketSpec.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``cbserver`` command."""
    parser = argparse.ArgumentParser(
        prog="cbserver", description="A single-node Couchbase 2.x-compatible server.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--rest-port", type=int, default=8091, help="REST port (0 = any free)")
    parser.add_argument("--kv-port", type=int, default=11210, help="KV port (0 = any free)")
    parser.add_argument("--views-port", type=int, default=8092, help="views port (0 = any free)")
    parser.add_argument("--data-dir", help="data directory for persistence "
                        "(default: $XDG_DATA_HOME/cbserver or ~/.local/share/cbserver)")
    parser.add_argument("--ephemeral", action="store_true",
                        help="keep data in memory only (no data directory)")
    parser.add_argument("--bucket", action="append", type=_bucket, metavar="NAME[:PASSWORD]",
                        help="create this bucket at start (repeatable; default: default)")
    parser.add_argument("--admin", type=_admin, default=("Administrator", "password"),
                        metavar="USER:PASSWORD", help="admin credentials")
    parser.add_argument("--vbuckets", type=int, default=1024, help="vBuckets per bucket")
    parser.add_argument("--sample", action="append", default=[], metavar="NAME",
                        choices=available_samples(),
                        help="install this sample bucket at start if missing (repeatable)")
    parser.add_argument("--log-level", default="INFO", help="logging level")
    return parser


async def serve(config: ServerConfig, samples: Sequence[str] = ()) -> None:
    """Run a server until SIGINT or SIGTERM, installing the named sample buckets first."""
    server = Server(config)
    await server.start()
    print(f"cbserver {server.version} on {config.host}: rest port {server.rest_port}, "
          f"kv port {server.kv_port}, views port {server.views_port}", flush=True)
    for name in samples:
        if not is_installed(server, name):
            await install_sample(server, name, progress_printer(name))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cbserver`` console script."""
    args = build_parser().parse_args(argv)
    if args.vbuckets < 1:
        print("cbserver: --vbuckets must be at least 1", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The flusher threads write the commit logs: a file-size limit must fail a write
    # (reported, retried) rather than kill the server.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    config = ServerConfig(host=args.host, rest_port=args.rest_port, kv_port=args.kv_port,
                          views_port=args.views_port,
                          buckets=tuple(args.bucket or (BucketSpec("default"),)),
                          admin=args.admin, vbuckets=args.vbuckets, data_dir=args.data_dir,
                          ephemeral=args.ephemeral)
    loop = new_event_loop()
    try:
        loop.run_until_complete(serve(config, args.sample))
    except (OSError, StorageError) as exc:
        print(f"cbserver: cannot start: {exc}", file=sys.stderr)
        return 1
    finally:
        loop.close()
    return 0
