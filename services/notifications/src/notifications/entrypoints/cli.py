"""`customerhub-notifications run` (or `python -m notifications run`): the notification service
as its own process — its HTTP routes, the consumer following the event log, the dispatchers."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from customerhub_shared.settings import load_settings
    from notifications.bootstrap import create_app

    settings = load_settings()
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        access_log=False,
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="customerhub-notifications", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve the notification service until SIGTERM")
    run.add_argument("--host", default=None)
    run.add_argument("--port", type=int, default=None)
    run.set_defaults(action=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    result: int = args.action(args)
    return result
