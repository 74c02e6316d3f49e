"""Typed keys for what the app and each request carry."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gql_users.accounts.callers import Caller
from gql_users.accounts.live import SubscriberCounts
from gql_users.db.engine import SQLCounter
from gql_users.db.secrets import ProcessSecret
from gql_users.eduteams.client import EduteamsClient
from gql_users.events import Hub
from gql_users.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONMAKER = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
READ_SESSIONMAKER = web.AppKey("read_sessionmaker", async_sessionmaker[AsyncSession])
"""Sessions of the REST API's reads (``GET`` and ``HEAD``): ``create_read_sessionmaker``."""
EDUTEAMS = web.AppKey("eduteams", EduteamsClient)
CURSOR_SECRET = web.AppKey("cursor_secret", ProcessSecret)
EVENTS = web.AppKey("events", Hub)
SUBSCRIBERS = web.AppKey("subscribers", SubscriberCounts)

SESSION = web.RequestKey("session", AsyncSession)
CALLER = web.RequestKey("caller", Caller)
SQL_COUNTER = web.RequestKey("sql_counter", SQLCounter)


def request_session(request: web.Request) -> AsyncSession:
    return request[SESSION]


def request_caller(request: web.Request) -> Caller:
    return request[CALLER]
