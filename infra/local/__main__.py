"""`python -m infra.local`: run the whole product on this machine until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from infra.local.stack import LocalStack, LocalStackConfig, PortInUseError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__)
    parser.add_argument("--api-port", type=int, default=8000, help="port of the HTTP API on 127.0.0.1")
    parser.add_argument("--moto-port", type=int, default=5000, help="port of the moto server on 127.0.0.1")
    parser.add_argument(
        "--schedule-seconds", type=float, default=60.0, help="interval between runs of each scheduled job, in seconds"
    )
    parser.add_argument("--no-seed", action="store_true", help="start without the sample customers and messages")
    parser.add_argument("--artifacts-dir", type=Path, default=None, help="folder of model artifacts")
    parser.add_argument(
        "--secret-file",
        type=Path,
        default=None,
        help="file that receives the signing secret of development tokens (default: .artifacts/dev-token-secret)",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # botocore reports every endpoint and credential lookup at INFO.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    config = LocalStackConfig(
        api_port=args.api_port,
        moto_port=args.moto_port,
        schedule_seconds=args.schedule_seconds,
        seed=not args.no_seed,
    )
    if args.artifacts_dir is not None:
        config.artifacts_dir = args.artifacts_dir.resolve()
    if args.secret_file is not None:
        config.secret_file = args.secret_file.resolve()

    stack = LocalStack(config)
    signal.signal(signal.SIGTERM, lambda *_: stack.stop())
    try:
        stack.start()
        stack.wait()
    except PortInUseError as error:
        logging.getLogger("local_stack").error("%s", error)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
