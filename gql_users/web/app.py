"""The aiohttp application factory."""

from __future__ import annotations

from aiohttp import web

from gql_users.accounts.live import SubscriberCounts
from gql_users.db.engine import (
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
    normalize_database_url,
)
from gql_users.db.secrets import CURSOR_KEY, ProcessSecret
from gql_users.eduteams.client import EduteamsClient
from gql_users.events import Hub
from gql_users.http.authentication import auth_middleware
from gql_users.http.keys import (
    CURSOR_SECRET,
    EDUTEAMS,
    ENGINE,
    EVENTS,
    READ_SESSIONMAKER,
    SESSIONMAKER,
    SETTINGS,
    SUBSCRIBERS,
)
from gql_users.rest import auth as rest_auth
from gql_users.rest import customers as rest_customers
from gql_users.rest import openapi
from gql_users.rest import projects as rest_projects
from gql_users.rest import users as rest_users
from gql_users.settings import Settings, get_settings
from gql_users.web import cors, front, graphql_view, health, media, observability, playground
from gql_users.web.middlewares import (
    error_middleware,
    hygiene_headers,
    session_middleware,
)
from gql_users.web.observability import (
    caller_middleware,
    echo_request_id,
    observability_middleware,
)

# A route asked for without its trailing slash is redirected to it, query string kept, as Django's
# APPEND_SLASH does; 308, so that a method with a body keeps it.
append_slash = web.normalize_path_middleware(
    append_slash=True, merge_slashes=False, redirect_class=web.HTTPPermanentRedirect
)


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or get_settings()
    app = web.Application(
        middlewares=[
            observability_middleware,
            append_slash,
            error_middleware,
            session_middleware,
            auth_middleware,
            caller_middleware,
        ],
        client_max_size=10 * 1024 * 1024,
    )
    app[SETTINGS] = settings
    engine = create_engine(
        normalize_database_url(settings.database_url),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        statement_timeout=settings.database_statement_timeout,
        busy_timeout=settings.database_busy_timeout,
    )
    app[ENGINE] = engine
    app[SESSIONMAKER] = create_sessionmaker(engine)
    app[READ_SESSIONMAKER] = create_read_sessionmaker(engine)
    app[CURSOR_SECRET] = ProcessSecret(engine, CURSOR_KEY, settings.cursor_secret)

    app[EDUTEAMS] = EduteamsClient(settings)
    app[EVENTS] = Hub(normalize_database_url(settings.database_url))
    app[SUBSCRIBERS] = SubscriberCounts(settings.graphql_subscriptions_per_user)

    async def close_resources(_app: web.Application) -> None:
        await app[EVENTS].close()
        await app[EDUTEAMS].close()
        await engine.dispose()

    app.on_cleanup.append(close_resources)
    app.on_response_prepare.append(hygiene_headers)
    app.on_response_prepare.append(echo_request_id)
    health.add_routes(app)
    rest_auth.add_routes(app)
    rest_users.add_routes(app)
    rest_customers.add_routes(app)
    rest_projects.add_routes(app)
    openapi.add_routes(app)
    media.add_routes(app)
    playground.add_routes(app)
    graphql_view.add_routes(app)
    observability.add_routes(app)
    front.add_routes(app)
    cors.add_routes(app)  # after the routes it covers
    return app
