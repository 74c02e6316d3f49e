"""``/media/``: uploaded user images, served from the media directory."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from gql_users.http.keys import SETTINGS

MAX_MEDIA_PATH_LENGTH = 1024
"""Longest path under ``/media/`` looked up; stored image names are far shorter."""


async def serve_media(request: web.Request) -> web.StreamResponse:
    """The file at the path under the media directory, or 404.

    A path that no file can have (NUL, longer than ``MAX_MEDIA_PATH_LENGTH``, a component
    the file system refuses) is 404 as well, never an error of the file system.
    """
    name = request.match_info["path"]
    if "\x00" in name or len(name) > MAX_MEDIA_PATH_LENGTH:
        raise web.HTTPNotFound()
    root = Path(request.app[SETTINGS].media_dir).resolve()
    try:
        path = (root / name).resolve()
        found = root in path.parents and path.is_file()
    except (OSError, ValueError):  # a component over NAME_MAX, a loop of links, ...
        found = False
    if not found:
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"X-Content-Type-Options": "nosniff"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/media/{path:.+}", serve_media)
