"""``gql-users serve``: N worker processes on one port, under gunicorn's master process.

The master binds the port, forks the workers (aiohttp's gunicorn worker, on uvloop when it is
installed), replaces a worker that dies, and on SIGTERM stops them gracefully: a worker stops
accepting connections and lets its in-flight requests finish, for up to
``GQL_USERS_GRACEFUL_TIMEOUT`` seconds. Each worker builds its own application after the fork,
so every process has its own engine and connection pool (a pool never crosses a fork).
Migrations are not run here: ``gql-users migrate`` comes first (docs/deploy.md#migrations).
"""

from __future__ import annotations

import errno
import gc
import importlib.util
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from gunicorn.app.base import BaseApplication

from gql_users import metrics
from gql_users.settings import Settings
from gql_users.web.app import create_app
from gql_users.web.balance import Balance, BalancedRunner

log = logging.getLogger("gql_users.serve")

AppFactory = Callable[[], Awaitable[web.AppRunner]]
# Seconds an idle client connection stays open, as under web.run_app: longer than a proxy's
# idle upstream connections (nginx's keepalive_timeout is 60 s), so the proxy closes first.
KEEPALIVE_TIMEOUT = 75.0


class CannotListen(Exception):
    """The address is taken, missing or not ours to bind."""


def default_workers() -> int:
    """One worker per core this process may run on (a container's CPU set, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_class() -> str:
    if importlib.util.find_spec("uvloop") is not None:
        return "aiohttp.worker.GunicornUVLoopWebWorker"
    return "aiohttp.worker.GunicornWebWorker"


def freeze_startup_objects() -> int:
    """Move every object alive now (modules, the GraphQL schema, SQLAlchemy's mappers, the app)
    out of the garbage collector's reach; returns how many were frozen.

    Called once in each worker when its application is built, so that no request pays a full
    collection that scans them all again (docs/operations.md#garbage-collection).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


COLLECTION_THRESHOLDS = (10_000, 10, 10)
"""The garbage collector's thresholds in a worker (Python's are 700, 10, 10): a youngest
collection after 10,000 more container objects rather than 700."""


def collect_less_often() -> None:
    """Raise the youngest generation's threshold (``COLLECTION_THRESHOLDS``) in a worker, once
    its start-up objects are frozen (docs/operations.md#garbage-collection).

    A GraphQL page makes tens of thousands of objects that live until its response is
    written: at Python's threshold the collector runs dozens of times during it, each time
    scanning the survivors, and moves them to older generations that it then scans again.
    Collected less often, most have died (by reference counting) before a collection comes.
    """
    gc.set_threshold(*COLLECTION_THRESHOLDS)


def check_can_listen(host: str, port: int) -> None:
    """Fail at once with the reason when the port cannot be bound (gunicorn would retry for
    five seconds and then exit with a log line)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
                raise
            raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


# --- multiprocess metrics hooks ------------------------------------------------------------
def prepare_metrics() -> None:
    """In the master, once, before the first worker is forked (gunicorn's ``on_starting``):
    an earlier run's multiprocess metric files are removed (docs/operations.md#metrics)."""
    metrics.prepare_multiprocess_dir()


def worker_exited(pid: int) -> None:
    """In the master, after a worker process ``pid`` ended, for any reason (``child_exit``)."""
    metrics.mark_process_dead(pid)


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    graceful_timeout: int
    log_level: str

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class GatewayServer(BaseApplication):  # gunicorn has no type hints: BaseApplication is Any
    """gunicorn configured from the settings alone: no config file, no command line of its own."""

    def __init__(
        self, settings: Settings, options: ServeOptions, announce: Callable[[str], None]
    ) -> None:
        self.settings = settings
        self.options = options
        self.announce = announce
        # Shared by the workers through the fork: made here, in the master, before any.
        self.balance = Balance(options.workers) if options.workers > 1 else None
        super().__init__()

    def gunicorn_config(self) -> dict[str, Any]:
        options = self.options
        config: dict[str, Any] = {
            "bind": [options.address],
            "workers": options.workers,
            "worker_class": worker_class(),
            "graceful_timeout": options.graceful_timeout,
            "loglevel": options.log_level.lower(),
            "proc_name": "gql-users",
            # Access lines come from aiohttp's logger, configured with the rest (see app_factory).
            "accesslog": None,
            # gunicorn's runtime control socket would be one file per user, shared by every
            # instance on the machine: not used.
            "control_socket_disable": True,
            "on_starting": lambda _arbiter: prepare_metrics(),
            "when_ready": lambda _arbiter: self.announce(
                f"Running on http://{options.address} with {options.workers} worker process(es) "
                "(Ctrl-C or SIGTERM stops)"
            ),
            "child_exit": self.child_exit,
        }
        if self.balance is not None:
            balance = self.balance
            config["pre_fork"] = lambda arbiter, worker: balance.assign(
                worker, arbiter.WORKERS.values()
            )
            config["post_fork"] = lambda _arbiter, worker: balance.claim(worker)
        return config

    def child_exit(self, _arbiter: Any, worker: Any) -> None:
        worker_exited(worker.pid)
        if self.balance is not None:
            self.balance.release(worker)

    def load_config(self) -> None:
        for key, value in self.gunicorn_config().items():
            self.cfg.set(key, value)

    def load(self) -> AppFactory:
        """Called in each worker after the fork: the worker awaits the factory for its runner."""
        settings, graceful_timeout = self.settings, self.options.graceful_timeout
        balance = self.balance

        async def app_factory() -> web.AppRunner:
            # Requests in flight get a little less than the master's limit, so that the worker
            # ends them itself before the master would kill it.
            app = create_app(settings)
            freeze_startup_objects()
            collect_less_often()
            options: dict[str, Any] = {
                "handle_signals": False,
                "access_log": None,  # the app writes one line per request itself
                "keepalive_timeout": KEEPALIVE_TIMEOUT,
                "shutdown_timeout": graceful_timeout * 0.95,
            }
            if balance is None:
                return web.AppRunner(app, **options)
            # Keep-alive connections spread over the workers (docs/deploy.md#gateway-processes).
            return BalancedRunner(app, balance, **options)

        return app_factory


def serve(settings: Settings, options: ServeOptions, announce: Callable[[str], None]) -> None:
    """Run the master until SIGTERM or SIGINT, then exit the process once every worker has
    stopped (``SystemExit``: status 0 after a graceful stop)."""
    check_can_listen(options.host, options.port)
    if options.workers > 1 and settings.metrics != "off" and metrics.multiprocess_dir() is None:
        log.warning(
            "/metrics shows only the worker that answers: set PROMETHEUS_MULTIPROC_DIR to a "
            "directory of its own so that %d workers add up (docs/operations.md#metrics)",
            options.workers,
        )
    GatewayServer(settings, options, announce).run()
