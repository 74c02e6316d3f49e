"""Request ids, the access log (one line per request), request metrics and ``GET /metrics``
(docs/operations.md#metrics, docs/operations.md#logs-and-request-ids).

``observability_middleware`` is the outermost middleware: it gives the request its id, counts
its SQL statements (reported in ``X-SQL-Count`` too with ``GQL_USERS_DEBUG_SQL``), times it,
and when the response is ready records it in the metrics and writes its access log line; the
``on_response_prepare`` hook ``echo_request_id`` puts the id on every response, errors included.
``caller_middleware``, the innermost, notes who the caller is.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from functools import cache

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from gql_users import metrics
from gql_users.db.engine import count_sql
from gql_users.http.keys import CALLER, ENGINE, SETTINGS, SQL_COUNTER
from gql_users.http.responses import detail_response
from gql_users.logs import ACCESS, ACCESS_LOGGER
from gql_users.request_context import RequestInfo, current, sanitize_request_id

access_log = logging.getLogger(ACCESS_LOGGER)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REQUEST_INFO = web.RequestKey("request_info", RequestInfo)
REQUEST_ID_HEADER = "X-Request-Id"
METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"
"""The route label of a request no route matched (its path is not a label: it is unbounded)."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
WRONG_METRICS_TOKEN = "Missing or wrong metrics token."
CLIENT_CLOSED = 499
"""The status logged for a request whose client went away before the response (nginx's)."""


def route_template(request: web.Request) -> str:
    """The matched route's template (``/api/users/{uuid}/``), never the raw path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def method_label(method: str) -> str:
    """The request method, or ``other`` for a method clients made up (labels stay bounded)."""
    return method if method in METHODS else OTHER_METHOD


@cache
def _pool_gauges() -> tuple[Gauge, Gauge, Gauge]:
    gauge = metrics.POOL_CONNECTIONS
    return (
        gauge.labels(state="checked_out"),
        gauge.labels(state="size"),
        gauge.labels(state="overflow"),
    )


def update_pool_gauges(engine: AsyncEngine) -> None:
    """This process's database pool use, into ``gql_users_db_pool_connections``."""
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool):  # SQLite in memory: no pool to speak of
        return
    checked_out, size, overflow = _pool_gauges()
    checked_out.set(pool.checkedout())
    size.set(pool.size())
    overflow.set(max(0, pool.overflow()))


@cache
def _request_metrics(route: str, method: str, status: int) -> tuple[Counter, Histogram, Histogram]:
    """The metrics of requests to ``route`` by ``method`` answered with ``status``, looked up
    once (the labels are bounded: route templates, known methods, status codes)."""
    return (
        metrics.REQUESTS.labels(route=route, method=method, status=str(status)),
        metrics.REQUEST_SECONDS.labels(route=route, method=method),
        metrics.REQUEST_SQL.labels(route=route),
    )


def record(request: web.Request, info: RequestInfo, status: int, seconds: float, sql: int) -> None:
    route, method = route_template(request), method_label(request.method)
    requests, durations, statements = _request_metrics(route, method, status)
    requests.inc()
    durations.observe(seconds)
    statements.observe(sql)
    update_pool_gauges(request.app[ENGINE])
    if not access_log.isEnabledFor(logging.INFO):
        return
    fields = {
        "method": request.method,
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "caller": info.caller,
        "sql_count": sql,
        "operation": info.operation,
    }
    access_log.info(
        "%s %s %s %.1fms sql=%d caller=%s operation=%s request_id=%s",
        request.method,
        route,
        status,
        seconds * 1000,
        sql,
        info.caller or "-",
        info.operation or "-",
        info.request_id,
        extra={ACCESS: fields, "request_id": info.request_id},
    )


@web.middleware
async def observability_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    info = RequestInfo(sanitize_request_id(request.headers.get(REQUEST_ID_HEADER)))
    request[REQUEST_INFO] = info
    reset = current.set(info)
    debug_sql = request.app[SETTINGS].debug_sql
    started = time.perf_counter()
    status = web.HTTPInternalServerError.status_code
    with count_sql() as counter:
        request[SQL_COUNTER] = counter
        try:
            response = await handler(request)
            status = response.status
            if debug_sql and not response.prepared:
                response.headers["X-SQL-Count"] = str(counter.count)
            return response
        except web.HTTPException as exc:
            status = exc.status
            if debug_sql:
                exc.headers["X-SQL-Count"] = str(counter.count)
            raise
        except asyncio.CancelledError:
            status = CLIENT_CLOSED
            raise
        finally:
            current.reset(reset)
            try:
                record(request, info, status, time.perf_counter() - started, counter.count)
            except Exception:  # a metric or log failure must not fail the request
                access_log.exception("could not record request %s", info.request_id)


@web.middleware
async def caller_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The innermost middleware: notes the authenticated caller for the access log while the
    user is fresh (a rollback later in the request expires it)."""
    caller = request.get(CALLER)
    info = request.get(REQUEST_INFO)
    if caller is not None and caller.user is not None and info is not None:
        info.caller = caller.user.uuid.hex
    return await handler(request)


async def echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the request's id on every response."""
    info = request.get(REQUEST_INFO)
    if info is not None:
        response.headers[REQUEST_ID_HEADER] = info.request_id


def bearer_token(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus text format; summed over the processes sharing ``PROMETHEUS_MULTIPROC_DIR``
    when it is set. ``GQL_USERS_METRICS``: ``off`` is 404, ``token`` wants
    ``Authorization: Bearer <GQL_USERS_METRICS_TOKEN>`` (compared in constant time)."""
    settings = request.app[SETTINGS]
    if settings.metrics == "off":
        raise web.HTTPNotFound()
    if settings.metrics == "token":
        given = (bearer_token(request) or "").encode(errors="surrogateescape")
        if not hmac.compare_digest(given, settings.metrics_token.encode()):
            return detail_response(
                WRONG_METRICS_TOKEN,
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    update_pool_gauges(request.app[ENGINE])
    metrics.before_scrape()
    if metrics.multiprocess_dir() is None:
        body = generate_latest(REGISTRY)
    else:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        body = generate_latest(registry)
    return web.Response(
        body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get(METRICS_PATH, metrics_view)
