"""A worker freezes its start-up objects out of the garbage collector once its app is built,
so that no request pays a full collection scanning the modules, schema and mappers again, and
collects its youngest generation less often than Python's default."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gql_users.settings import Settings
from gql_users.web.server import (
    COLLECTION_THRESHOLDS,
    GatewayServer,
    ServeOptions,
    freeze_startup_objects,
    worker_class,
)


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Starts and ends the test with nothing frozen and the collector's thresholds as they
    were, so other tests collect as usual."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def is_scanned(target: object) -> bool:
    """Whether the collector still scans ``target`` (frozen objects are in no generation)."""
    return any(obj is target for obj in gc.get_objects())


def test_freezing_moves_tracked_objects_out_of_the_collector(unfrozen: None) -> None:
    module_namespace = vars(gc)
    assert is_scanned(module_namespace)
    tracked = len(gc.get_objects())
    frozen = freeze_startup_objects()
    # Frozen objects may still be freed (by another thread, too) but never added without a freeze.
    assert 0 < gc.get_freeze_count() <= frozen
    assert len(gc.get_objects()) <= tracked - frozen // 2
    assert not is_scanned(module_namespace)
    survivor: list[object] = []
    survivor.append(survivor)  # created after the freeze: still collected as usual
    assert is_scanned(survivor)


async def test_the_worker_app_factory_freezes_once_the_app_is_built_and_collects_less_often(
    settings: Settings, unfrozen: None
) -> None:
    options = ServeOptions(
        host="127.0.0.1", port=0, workers=1, graceful_timeout=5, log_level="WARNING"
    )
    server = GatewayServer(settings, options, announce=lambda _line: None)
    assert gc.get_freeze_count() == 0
    gc.set_threshold(700, 10, 10)
    runner = await server.load()()
    try:
        assert gc.get_freeze_count() > 0
        assert not is_scanned(runner.app)
        assert gc.get_threshold() == COLLECTION_THRESHOLDS
        assert COLLECTION_THRESHOLDS[0] > 700
    finally:
        await runner.cleanup()


def test_workers_run_on_uvloop_when_it_is_installed() -> None:
    pytest.importorskip("uvloop")
    assert worker_class() == "aiohttp.worker.GunicornUVLoopWebWorker"
