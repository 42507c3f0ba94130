"""`python -m infra.local.moto_server --port N`: moto's server with the local speed-ups, in its
own process so that the emulator and the app each get a CPU core."""

from __future__ import annotations

import argparse
import logging
import sys

from infra.local import moto_speedups, moto_workflows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on")
    args = parser.parse_args(argv)

    moto_speedups.install()
    moto_workflows.install()
    # werkzeug logs one line per request; keep only warnings and errors.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from moto.server import main as moto_main

    moto_main(["--host", args.host, "--port", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
