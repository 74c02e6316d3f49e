"""The service's Prometheus metrics, and what a multi-process server needs for them.

Imports prometheus-client only, so that every layer may report here (the core counts failed
logins). With several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` names a directory where each
process keeps its values and ``/metrics`` adds them up (docs/operations.md#metrics). Every metric
has labels: a labelled metric writes no file before its first use, so importing this module
before the directory is prepared is harmless.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# No ``*_created`` series: they double the output and say little.
disable_created_metrics()

REQUESTS = Counter(
    "gql_users_http_requests_total",
    "HTTP requests, by route template, method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "gql_users_http_request_duration_seconds",
    "Time from a request's arrival to its response, by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REQUEST_SQL = Histogram(
    "gql_users_http_request_sql_statements",
    "SQL statements run by one request, by route template.",
    ["route"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 100),
)
GRAPHQL_OPERATIONS = Counter(
    "gql_users_graphql_operations_total",
    "GraphQL operations, by operation name and type.",
    ["operation", "type"],
)
GRAPHQL_ERRORS = Counter(
    "gql_users_graphql_errors_total",
    "Errors in GraphQL responses, by operation name and type.",
    ["operation", "type"],
)
LOGIN_FAILURES = Counter(
    "gql_users_login_failures_total",
    "Refused password logins: wrong credentials (invalid_credentials), or refused without "
    "a password check during a lockout (locked_out).",
    ["reason"],
)
POOL_CONNECTIONS = Gauge(
    "gql_users_db_pool_connections",
    "Database pool connections: checked out, pool size, and overflow in use; with several "
    "processes, the sum over the live ones, as of each one's last request or scrape.",
    ["state"],
    multiprocess_mode="livesum",
)

WORKER_CONNECTIONS = Gauge(
    "gql_users_worker_connections",
    "Open client connections of each worker slot of `gql-users serve --workers N` (N > 1; 0 "
    "for a slot no worker holds), from the counts the workers share, as of the last scrape.",
    ["slot"],
    multiprocess_mode="mostrecent",
)
HANDOFFS = Counter(
    "gql_users_connection_handoffs_total",
    "New connections a worker passed to a less-loaded worker (sent), or kept because passing "
    "failed (failed).",
    ["outcome"],
)

INVALID_CREDENTIALS = "invalid_credentials"
LOCKED_OUT = "locked_out"


def login_failed(reason: str) -> None:
    """A password login was refused (``INVALID_CREDENTIALS`` or ``LOCKED_OUT``)."""
    LOGIN_FAILURES.labels(reason=reason).inc()


ANONYMOUS_OPERATION = "anonymous"
OTHER_OPERATION = "other"
OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_OPERATION_NAMES = 200
"""Distinct operation names one process labels; later names count as ``other``."""

_operation_names: set[str] = set()
_operation_names_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    """A bounded label for a client-chosen operation name: ``anonymous`` without a name,
    ``other`` for a name that is not a plain GraphQL name of at most 64 characters or that
    comes after the first ``MAX_OPERATION_NAMES`` of the process (so clients cannot make the
    label set grow without bound)."""
    if name is None:
        return ANONYMOUS_OPERATION
    if not OPERATION_NAME.fullmatch(name):
        return OTHER_OPERATION
    with _operation_names_lock:
        if name in _operation_names:
            return name
        if len(_operation_names) >= MAX_OPERATION_NAMES:
            return OTHER_OPERATION
        _operation_names.add(name)
    return name


_scrape_hooks: list[Callable[[], None]] = []


def on_scrape(hook: Callable[[], None]) -> None:
    """Call ``hook`` before each ``/metrics`` response of this process (to set gauges that are
    read rather than counted)."""
    _scrape_hooks.append(hook)


def before_scrape() -> None:
    for hook in _scrape_hooks:
        hook()


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_DIR_VARIABLE)
    return Path(value) if value else None


def prepare_multiprocess_dir() -> Path | None:
    """At the start of the server's master process (before any worker): create the
    ``PROMETHEUS_MULTIPROC_DIR`` directory or empty it of an earlier run's files, which would
    otherwise be added to this run's counts. Returns the directory, or None when unset."""
    directory = multiprocess_dir()
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        path.unlink(missing_ok=True)
    return directory


def mark_process_dead(pid: int) -> None:
    """A worker process ended: its live gauges no longer count (the gunicorn ``child_exit``
    hook calls ``child_exit`` below)."""
    if multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


class Worker(Protocol):
    pid: int


def child_exit(_server: object, worker: Worker) -> None:
    """gunicorn's ``child_exit(server, worker)`` server hook (``child_exit = ...`` in its
    configuration)."""
    mark_process_dead(worker.pid)
