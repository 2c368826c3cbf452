"""`python -m beersample`: cbserver with beer-sample, the views, and the app on 127.0.0.1:5000."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from werkzeug.serving import make_server

from cbserver.samples import progress_printer

from beersample.app import create_app
from beersample.stack import BUCKET, BeerSampleStack

log = logging.getLogger("beersample")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m beersample",
                                     description="Run the beer-sample web app on cbserver.")
    parser.add_argument("--port", type=int, default=5000, help="app port (default 5000)")
    parser.add_argument("--state-dir", type=Path, default=Path.cwd() / ".state",
                        help="where cbserver keeps its data (default ./.state)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start everything, serve until Ctrl-C, then stop everything."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s")
    stack = BeerSampleStack(args.state_dir / "cbserver")
    try:
        stack.start(progress=progress_printer(BUCKET))
    except Exception as exc:
        stack.stop()
        print(f"beersample: could not start cbserver: {exc}", file=sys.stderr)
        return 1
    app = create_app(settings=stack.app_settings())
    try:
        http = make_server("127.0.0.1", args.port, app, threaded=True)
    except OSError as exc:
        stack.stop()
        print(f"beersample: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return 1
    print(f"cbserver: REST http://127.0.0.1:{stack.server.rest_port}/ "
          f"(data in {args.state_dir / 'cbserver'})")
    print(f"Beer sample app running on http://127.0.0.1:{http.server_port}/ "
          "(press Ctrl-C to stop)", flush=True)
    try:
        http.serve_forever()
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        http.server_close()
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
