"""`customerhub`: run the embedded system, mint development tokens, replay read models, relay
the event log to Kafka, consume it from Kafka, verify the event log's hash chains."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from pydantic import ValidationError

from customerhub import import_command
from customerhub_shared.settings import JWT_SECRET_FILE, Settings, load_settings


def _until_signalled(run: Callable[[asyncio.Event], Awaitable[int]]) -> int:
    """Run until SIGINT or SIGTERM sets the stop event the runner watches."""

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        return await run(stop)

    return asyncio.run(main())


def _reporting(
    command: str,
    run: Callable[[], int],
    *,
    unconfigured: type[Exception],
    failed: type[Exception],
) -> int:
    """Run; a missing setting exits 2, a failure the command gave up on exits 1, each with
    its reason on stderr."""
    try:
        return run()
    except (unconfigured, failed) as error:
        sys.stderr.write(f"customerhub {command}: {error}\n")
        return 2 if isinstance(error, unconfigured) else 1


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from customerhub.app import create_app

    settings = load_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    app = create_app(settings)
    _say("run", f"serving http://{host}:{port} (API docs: /docs), data in {settings.data_dir}")
    if not settings.jwks_url:
        token = _mint(settings, sub="dev-admin", roles=["admin"], ttl_seconds=12 * 3600)
        _say("run", f"HS256 secret: {_secret_origin(settings)}")
        _say("run", f"a development token (sub dev-admin, roles admin, 12 h):\n  TOKEN={token}")
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
    return 0


def _say(command: str, line: str) -> None:
    sys.stderr.write(f"customerhub {command}: {line}\n")
    sys.stderr.flush()


def _secret_origin(settings: Settings) -> str:
    """Where the HS256 secret comes from, so that a 401 is easy to explain."""
    if settings.jwt_secret is not None and settings.jwt_secret.get_secret_value():
        return "CUSTOMERHUB_JWT_SECRET"
    return f"{(settings.data_dir / JWT_SECRET_FILE).resolve()} (CUSTOMERHUB_DATA_DIR)"


def _mint(settings: Settings, *, sub: str, roles: list[str], ttl_seconds: int) -> str:
    from customerhub_shared.http.auth import mint_token

    return mint_token(
        settings.resolved_jwt_secret(),
        sub=sub,
        roles=roles,
        ttl_seconds=ttl_seconds,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def _token(args: argparse.Namespace) -> int:
    settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    secret_file = settings.data_dir / JWT_SECRET_FILE
    new_secret = settings.jwt_secret is None and not secret_file.exists()
    token = _mint(settings, sub=args.sub, roles=roles, ttl_seconds=args.ttl)
    # On stderr, so that TOKEN=$(customerhub token) keeps the token only.
    _say("token", f"signed with the HS256 secret from {_secret_origin(settings)}")
    if new_secret:
        _say(
            "token",
            "that secret was created just now: no server has used this data directory yet, and"
            " a server started with another CUSTOMERHUB_DATA_DIR or CUSTOMERHUB_JWT_SECRET"
            " answers this token with 401",
        )
    if settings.jwks_url:
        _say("token", "CUSTOMERHUB_JWKS_URL is set: servers verify the identity provider's keys")
    sys.stdout.write(token + "\n")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from customerhub.operations import replay_projections

    return asyncio.run(replay_projections(load_settings(), args.projections))


def _projections(args: argparse.Namespace) -> int:
    from customerhub.operations import show_projections

    return asyncio.run(show_projections(load_settings()))


def _project(args: argparse.Namespace) -> int:
    from customerhub.operations import follow_projections

    settings = load_settings()
    if settings.consumer_transport == "kafka":
        sys.stderr.write(
            "customerhub project: CUSTOMERHUB_CONSUMER_TRANSPORT is kafka, so the projectors"
            " consume Kafka: run `customerhub consume customers` instead\n"
        )
        return 2

    return _until_signalled(lambda stop: follow_projections(settings, stop))


def _reconcile(args: argparse.Namespace) -> int:
    from customerhub.operations import run_ownership_reconciler

    return _until_signalled(lambda stop: run_ownership_reconciler(load_settings(), stop))


def _relay(args: argparse.Namespace) -> int:
    from customer_command.relay.main import RelayNotConfigured, run_relay
    from customerhub_shared.bus import PublishFailed

    return _reporting(
        "relay",
        lambda: _until_signalled(lambda stop: run_relay(load_settings(), stop, once=args.once)),
        unconfigured=RelayNotConfigured,
        failed=PublishFailed,
    )


def _audit(args: argparse.Namespace) -> int:
    from customerhub.audit import verify_history

    return asyncio.run(verify_history(load_settings(), args.customer))


# The Kafka consumers `customerhub consume` runs, each a consumer-group agent.
CONSUMERS = ("customers",)


def _consume(args: argparse.Namespace) -> int:
    from customer_query.entrypoints.kafka_projector import run_customers_projector
    from customerhub_shared.bus.kafka_consumer import ConsumeFailed, ConsumerNotConfigured

    runners: dict[str, Callable[[Settings, asyncio.Event], Awaitable[int]]] = {
        "customers": run_customers_projector,
    }
    settings = load_settings()

    async def consumers(stop: asyncio.Event) -> int:
        names = list(dict.fromkeys(args.consumers or CONSUMERS))
        results = await asyncio.gather(*(runners[name](settings, stop) for name in names))
        return max(results)

    return _reporting(
        "consume",
        lambda: _until_signalled(consumers),
        unconfigured=ConsumerNotConfigured,
        failed=ConsumeFailed,
    )


def _parked(args: argparse.Namespace) -> int:
    from customerhub.parked import list_parked, mark_parked

    settings = load_settings()
    if args.parked_command == "list":
        return asyncio.run(list_parked(settings))
    retry = args.parked_command == "retry"
    return asyncio.run(mark_parked(settings, args.id, "retry" if retry else "skipped"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="customerhub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve every service on one port (embedded default)")
    run.add_argument("--host", default=None)
    run.add_argument("--port", type=int, default=None)
    run.set_defaults(action=_run)
    token = commands.add_parser("token", help="mint a development JWT (HS256, embedded secret)")
    token.add_argument("--sub", default="dev-admin", help="the actor recorded on every event")
    token.add_argument("--roles", default="admin", help="comma-separated: admin,user,subscriber")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    token.add_argument(
        "--data-dir", default=None, help="the server's data directory (CUSTOMERHUB_DATA_DIR)"
    )
    token.set_defaults(action=_token)
    rebuild = commands.add_parser(
        "replay", help="rebuild read models from the event store while the old ones serve"
    )
    rebuild.add_argument("projections", nargs="*", help="default: every projection")
    rebuild.set_defaults(action=_replay)
    listing = commands.add_parser("projections", help="each projection's checkpoint and lag")
    listing.set_defaults(action=_projections)
    project = commands.add_parser(
        "project", help="run the projectors on their own (the embedded server runs them too)"
    )
    project.set_defaults(action=_project)
    reconcile = commands.add_parser(
        "reconcile",
        help="record equipment owner changes on the customers, until SIGTERM (exactly one per"
        " event log; with CUSTOMERHUB_OWNERSHIP_RECONCILER=separate on the write side)",
    )
    reconcile.set_defaults(action=_reconcile)
    relay = commands.add_parser(
        "relay", help="publish the event log to Kafka as CloudEvents, until SIGTERM"
    )
    relay.add_argument(
        "--once", action="store_true", help="publish what the log holds now, then exit"
    )
    relay.set_defaults(action=_relay)
    consume = commands.add_parser(
        "consume", help="run Kafka consumers (projectors as consumer-group agents), until SIGTERM"
    )
    consume.add_argument(
        "consumers", nargs="*", metavar="consumer", help=f"of {', '.join(CONSUMERS)}; default: all"
    )
    consume.set_defaults(action=_consume)
    audit = commands.add_parser("audit", help="check the event log's hash chains")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify", help="walk every stream's hash chain (or one customer's); exit 1 if one breaks"
    )
    verify.add_argument("--customer", type=UUID, default=None, metavar="ID")
    verify.set_defaults(action=_audit)
    import_command.add_parser(commands)
    parked = commands.add_parser("parked", help="events consumers gave up on (list, retry, skip)")
    parked_commands = parked.add_subparsers(dest="parked_command", required=True)
    parked_commands.add_parser("list", help="every consumer's parked events")
    for name, says in (("retry", "apply again, with those behind it"), ("skip", "drop for good")):
        marking = parked_commands.add_parser(name, help=f"a parked event: {says}")
        marking.add_argument("id", type=int)
    parked.set_defaults(action=_parked)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    unknown = [name for name in getattr(args, "consumers", []) if name not in CONSUMERS]
    if unknown:
        parser.error(f"unknown consumer(s): {', '.join(unknown)}; known: {', '.join(CONSUMERS)}")
    try:
        result: int = args.action(args)
    except ValidationError as error:
        if error.title != "Settings":
            raise
        # Each problem without its input: a refused secret must not be echoed to the log.
        for problem in error.errors(include_input=False, include_url=False):
            sys.stderr.write(f"customerhub: invalid setting: {problem['msg']}\n")
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
