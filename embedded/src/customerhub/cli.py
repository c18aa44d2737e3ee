"""`customerhub`: run the embedded system, mint development tokens, replay read models, relay
the event log to Kafka, consume it from Kafka, verify the event log's hash chains."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import io
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated, ParamSpec
from uuid import UUID

import typer
from pydantic import ValidationError

from customerhub_shared.settings import JWT_SECRET_FILE, Settings, load_settings

P = ParamSpec("P")
# Allocations between two runs of the cyclic collector's youngest generation (default 700).
GC_ALLOCATIONS = 50_000
app = typer.Typer(
    name="customerhub",
    help="[bold]customerhub[/bold]: run the embedded system, mint development tokens, replay"
    " read models, relay the event log to Kafka and consume it, verify its hash chains.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
audit = typer.Typer(help="Check the event log's hash chains.", no_args_is_help=True)
app.add_typer(audit, name="audit")
parked = typer.Typer(help="Events consumers gave up on: list, retry, skip.", no_args_is_help=True)
app.add_typer(parked, name="parked")


def _exits(command: Callable[P, int]) -> Callable[P, None]:
    """A command's int result as its exit code (typer ignores what commands return)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        raise typer.Exit(command(*args, **kwargs))

    return run


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


@app.command("run")
@_exits
def _run(
    host: Annotated[str | None, typer.Option(help="default: CUSTOMERHUB_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default: CUSTOMERHUB_PORT")] = None,
) -> int:
    """Serve every service on one port ([bold]embedded[/bold] default)."""
    import uvicorn

    from customerhub.app import create_app

    settings = load_settings()
    host = host or settings.host
    port = port or settings.port
    server = create_app(settings)
    address = f"http://{host}:{port}"
    _say("run", f"serving {address} (console: /, API docs: /docs), data in {settings.data_dir}")
    if not settings.jwks_url:
        token = _mint(settings, sub="dev-admin", roles=["admin"], ttl_seconds=12 * 3600)
        _say("run", f"HS256 secret: {_secret_origin(settings)}")
        _say("run", f"a development token (sub dev-admin, roles admin, 12 h):\n  TOKEN={token}")
    _settle_heap()
    uvicorn.run(server, host=host, port=port, log_config=None, access_log=False)
    return 0


def _settle_heap() -> None:
    """What is loaded by now lives as long as the process: the cyclic collector stops
    walking it, and runs after many more allocations (a request makes thousands, and most
    of them are freed by reference counting without it)."""
    gc.freeze()
    gc.set_threshold(GC_ALLOCATIONS, *gc.get_threshold()[1:])


def _traced(process: str, settings: Settings) -> Settings:
    """This long-running process makes spans (exported when OTEL_EXPORTER_OTLP_ENDPOINT is set)."""
    from customerhub_shared.tracing import configure_tracing

    configure_tracing(f"customerhub-{process}", settings.otel_exporter_otlp_endpoint)
    return settings


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


@app.command("token")
@_exits
def _token(
    sub: Annotated[str, typer.Option(help="the actor recorded on every event")] = "dev-admin",
    roles: Annotated[str, typer.Option(help="comma-separated: admin,user,subscriber")] = "admin",
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 12 * 3600,
    data_dir: Annotated[
        Path | None, typer.Option(help="the server's data directory (CUSTOMERHUB_DATA_DIR)")
    ] = None,
) -> int:
    """Mint a development JWT (HS256, the embedded secret) on stdout."""
    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    role_list = [role.strip() for role in roles.split(",") if role.strip()]
    secret_file = settings.data_dir / JWT_SECRET_FILE
    new_secret = settings.jwt_secret is None and not secret_file.exists()
    token = _mint(settings, sub=sub, roles=role_list, ttl_seconds=ttl)
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


@app.command("replay")
@_exits
def _replay(
    projections: Annotated[
        list[str] | None, typer.Argument(help="default: every projection", show_default=False)
    ] = None,
) -> int:
    """Rebuild read models from the event store while the old ones serve.

    A live bar shows positions done, events/s and ETA; a table sums up each rebuild.
    """
    from customerhub.operations import replay_projections

    return asyncio.run(replay_projections(load_settings(), projections or []))


@app.command("projections")
@_exits
def _projections() -> int:
    """Each follower of the log: its checkpoint and lag (and Kafka consumer groups')."""
    from customerhub.operations import show_projections

    return asyncio.run(show_projections(load_settings()))


@app.command("project")
@_exits
def _project() -> int:
    """Run the projectors on their own (the embedded server runs them too)."""
    from customerhub.operations import follow_projections

    settings = _traced("projector", load_settings())
    if settings.consumer_transport == "kafka":
        sys.stderr.write(
            "customerhub project: CUSTOMERHUB_CONSUMER_TRANSPORT is kafka, so the projectors"
            " consume Kafka: run `customerhub consume customers` instead\n"
        )
        return 2

    return _until_signalled(lambda stop: follow_projections(settings, stop))


@app.command("reconcile")
@_exits
def _reconcile() -> int:
    """Record equipment owner changes on the customers, until SIGTERM.

    Exactly one per event log; with CUSTOMERHUB_OWNERSHIP_RECONCILER=separate on the write side.
    """
    from customerhub.operations import run_ownership_reconciler

    settings = _traced("reconciler", load_settings())
    return _until_signalled(lambda stop: run_ownership_reconciler(settings, stop))


@app.command("relay")
@_exits
def _relay(
    once: Annotated[
        bool, typer.Option("--once", help="publish what the log holds now, then exit")
    ] = False,
) -> int:
    """Publish the event log to Kafka as CloudEvents, until SIGTERM."""
    from customer_command.relay.main import RelayNotConfigured, run_relay
    from customerhub_shared.bus import PublishFailed

    return _reporting(
        "relay",
        lambda: _until_signalled(
            lambda stop: run_relay(_traced("relay", load_settings()), stop, once=once)
        ),
        unconfigured=RelayNotConfigured,
        failed=PublishFailed,
    )


@audit.command("verify")
@_exits
def _audit(
    customer: Annotated[
        UUID | None, typer.Option(metavar="ID", help="one customer's streams only")
    ] = None,
) -> int:
    """Walk every stream's hash chain (or one customer's); exit 1 if one breaks."""
    from customerhub.audit import verify_history

    return asyncio.run(verify_history(load_settings(), customer))


# The Kafka consumers `customerhub consume` runs, each a consumer-group agent.
CONSUMERS = ("customers",)


@app.command("consume")
@_exits
def _consume(
    consumers: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="CONSUMER...",
            help=f"of {', '.join(CONSUMERS)}; default: all",
            show_default=False,
        ),
    ] = None,
) -> int:
    """Run Kafka consumers (projectors as consumer-group agents), until SIGTERM."""
    unknown = [name for name in consumers or () if name not in CONSUMERS]
    if unknown:
        known = ", ".join(CONSUMERS)
        _say("consume", f"unknown consumer(s): {', '.join(unknown)}; known: {known}")
        raise typer.Exit(2)
    from customer_query.entrypoints.kafka_projector import run_customers_projector
    from customerhub_shared.bus.kafka_consumer import ConsumeFailed, ConsumerNotConfigured

    runners: dict[str, Callable[[Settings, asyncio.Event], Awaitable[int]]] = {
        "customers": run_customers_projector,
    }
    settings = _traced("consumer", load_settings())

    async def run_consumers(stop: asyncio.Event) -> int:
        names = list(dict.fromkeys(consumers or CONSUMERS))
        results = await asyncio.gather(*(runners[name](settings, stop) for name in names))
        return max(results)

    return _reporting(
        "consume",
        lambda: _until_signalled(run_consumers),
        unconfigured=ConsumerNotConfigured,
        failed=ConsumeFailed,
    )


@app.command("import")
@_exits
def _import(
    file: Annotated[Path, typer.Argument(help="a CSV (UTF-8 or Windows-1252) or XLSX file")],
    dry_run: Annotated[bool, typer.Option(help="report, write nothing")] = False,
    create_duplicates: Annotated[bool, typer.Option(help="create likely duplicates too")] = False,
    mapping: Annotated[str | None, typer.Option(help='JSON {"column": "field"}')] = None,
    actor: Annotated[str, typer.Option(help="recorded on every event")] = "cli-import",
) -> int:
    """Import customers from a CSV or XLSX file (as POST /v1/imports does)."""
    from customerhub import import_command

    return import_command.run(
        file, dry_run=dry_run, create_duplicates=create_duplicates, mapping=mapping, actor=actor
    )


@parked.command("list")
@_exits
def _parked_list() -> int:
    """Every consumer's parked events."""
    from customerhub.parked import list_parked

    return asyncio.run(list_parked(load_settings()))


@parked.command("retry")
@_exits
def _parked_retry(id: Annotated[int, typer.Argument(help="the parked event's id")]) -> int:
    """Apply a parked event again, with those parked behind it."""
    from customerhub.parked import mark_parked

    return asyncio.run(mark_parked(load_settings(), id, "retry"))


@parked.command("skip")
@_exits
def _parked_skip(id: Annotated[int, typer.Argument(help="the parked event's id")]) -> int:
    """Drop a parked event for good (those behind it are applied)."""
    from customerhub.parked import mark_parked

    return asyncio.run(mark_parked(load_settings(), id, "skipped"))


class _Parser:
    """Checks a command line names a command and options that exist, without running it (the
    deployment files' commands are checked this way): SystemExit(2) otherwise."""

    def parse_args(self, args: Sequence[str]) -> None:
        # --help is eager: once every argument has parsed, it answers instead of the command.
        with contextlib.redirect_stdout(io.StringIO()):
            code = main([*args, "--help"])
        if code != 0:
            raise SystemExit(code)


def _parser() -> _Parser:
    return _Parser()


def main(argv: Sequence[str] | None = None) -> int:
    """The command's exit code; 2 for a usage error, with the reason on stderr."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="customerhub")
    except SystemExit as exited:
        code = exited.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ValidationError as error:
        if error.title != "Settings":
            raise
        # Each problem without its input: a refused secret must not be echoed to the log.
        for problem in error.errors(include_input=False, include_url=False):
            sys.stderr.write(f"customerhub: invalid setting: {problem['msg']}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
