"""Logging of ``gql-users serve``: text or one JSON object per line, each record with the id
of the request it belongs to; SQL statements only when asked
(docs/operations.md#logs-and-request-ids).
"""

from __future__ import annotations

import errno
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp.http_exceptions import HttpProcessingError

from gql_users.request_context import current_request_id

# Loggers that print SQL statement parameters (password hashes, token keys) at DEBUG.
PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine")
SQL_LOGGER = "sqlalchemy.engine"
ACCESS_LOGGER = "gql_users.access"
AIOHTTP_ACCESS_LOGGER = "aiohttp.access"
ACCESS = "access"
"""The ``extra`` key of an access log record: the dict of its fields."""

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
AIOHTTP_SERVER_LOGGER = "aiohttp.server"
MALFORMED = "malformed HTTP request from %s refused with %s (%s)"
GUNICORN_ERROR_LOGGER = "gunicorn.error"
GUNICORN_CLOSE_ERROR = "Error while closing socket %s"
"""gunicorn's message when closing a listening socket fails (gunicorn/sock.py)."""


class RequestIdFilter(logging.Filter):
    """Gives every record the ``request_id`` of the request being served (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            setattr(record, "request_id", current_request_id())  # noqa: B010
        return True


class MalformedRequestFilter(logging.Filter):
    """aiohttp logs a request it cannot parse (a request line or header over 8,190 bytes, a
    bad header) at ERROR, with a traceback and the start of the offending bytes, which may be
    a token: a client's mistake becomes one WARNING line naming the peer, the status and the
    kind of error, and nothing it sent (docs/hardening.md#http-headers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= (error.code or 400) < 500:
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else None
            record.msg, record.args = MALFORMED, (peer, error.code or 400, type(error).__name__)
            record.levelno, record.levelname = (
                logging.WARNING,
                logging.getLevelName(logging.WARNING),
            )
            record.exc_info = record.exc_text = None
        return True


class ListenerClosedTwiceFilter(logging.Filter):
    """When a worker stops, uvloop's server closes the listening socket's descriptor and then
    gunicorn closes its own object for the same descriptor, which fails with EBADF: gunicorn
    logs "Error while closing socket [Errno 9] Bad file descriptor" at every stop of every
    worker, though nothing went wrong (the port is the master's, and it closes it itself).
    That line, and only that one, is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != GUNICORN_CLOSE_ERROR or not isinstance(record.args, tuple):
            return True
        return not (record.args and str(record.args[0]).startswith(f"[Errno {errno.EBADF}]"))


class TextFormatter(logging.Formatter):
    """``TEXT_FORMAT``, with ``[request <id>]`` before the message of a record written while
    a request is served (the access line names it already)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        if request_id is not None and not hasattr(record, ACCESS):
            message = f"[request {request_id}] {record.getMessage()}"
            record = logging.makeLogRecord({**record.__dict__, "msg": message, "args": None})
        return super().format(record)


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, request_id,
    the access fields of an access record, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        access = getattr(record, ACCESS, None)
        if isinstance(access, dict):
            line.update(access)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str, *, json_format: bool = False, sql: bool = False) -> None:
    """Log at ``level`` to standard error, as text or JSON lines.

    SQL statements are logged (at INFO) only with ``sql``; their parameters never, even at
    DEBUG (the engine hides them, and the drivers' loggers stay above DEBUG). aiohttp's own
    access log is off: the service writes one line per request itself
    (``gql_users.web.observability``), and a request it cannot parse is one WARNING line
    (``MalformedRequestFilter``). gunicorn's harmless complaint at each worker's stop is
    dropped (``ListenerClosedTwiceFilter``).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JSONFormatter() if json_format else TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler])  # no-op if already configured
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if sql:
        logging.getLogger(SQL_LOGGER).setLevel(logging.INFO)
    logging.getLogger(AIOHTTP_ACCESS_LOGGER).setLevel(logging.WARNING)
    server_logger = logging.getLogger(AIOHTTP_SERVER_LOGGER)
    if not any(isinstance(f, MalformedRequestFilter) for f in server_logger.filters):
        server_logger.addFilter(MalformedRequestFilter())
    gunicorn_logger = logging.getLogger(GUNICORN_ERROR_LOGGER)
    if not any(isinstance(f, ListenerClosedTwiceFilter) for f in gunicorn_logger.filters):
        gunicorn_logger.addFilter(ListenerClosedTwiceFilter())
