"""``/media/``: uploaded user images, served from the media directory."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from gql_users.web.keys import SETTINGS


async def serve_media(request: web.Request) -> web.StreamResponse:
    root = Path(request.app[SETTINGS].media_dir).resolve()
    path = (root / request.match_info["path"]).resolve()
    if root not in path.parents or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"X-Content-Type-Options": "nosniff"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/media/{path:.+}", serve_media)
