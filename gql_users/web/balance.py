"""Keep-alive connections spread over ``gql-users serve``'s workers
(docs/deploy.md#gateway-processes).

The workers accept on one shared socket, natively (uvloop's accept, no Python per accept), and
whichever event loop wakes first takes every connection waiting: a burst of keep-alive
connections can land on one worker and stay there. So each worker counts its open connections
in memory shared by all of them (made in the master before the first fork), and when a new
connection would leave it two or more ahead of the least-loaded worker, it passes the socket
to that worker over a Unix datagram socket (``SCM_RIGHTS``) before reading a byte from it; the
other worker serves it as if it had accepted it. Anything that goes wrong on the way (the other
worker's queue full, a send error) keeps the connection where it arrived: none is dropped.

The common path, a connection kept where it arrived, reads the shared counts once. A
connection whose first request is already there with ``Connection: close`` is never passed on
(last_request_waiting).

Shared state, one slot per worker (twice ``--workers`` slots, so that a reload's new workers
find free ones while the old ones stop), each value written by one process only:

- ``counts[s]``: the open connections of the worker in slot ``s``, written by that worker;
  ``UNUSED`` when no worker takes hand-offs there (free, starting, stopping);
- ``sent[k * slots + j]``: connections worker ``k`` ever handed to slot ``j``, written by ``k``;
- ``received[j]``: connections slot ``j`` ever took from its queue, written by its worker.

``sum(sent[*][j]) - received[j]`` is what is on its way to ``j``: counted as ``j``'s load, so
that a burst is not all sent to the worker whose count has not caught up yet.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import re
import socket
from collections.abc import Iterable
from multiprocessing.sharedctypes import RawArray
from typing import Any, cast

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from gql_users import metrics

log = logging.getLogger("gql_users.serve")

UNUSED = 2**62
"""A slot's count while no worker takes hand-offs there: never the least loaded."""

AHEAD = 2
"""A worker passes a new connection on when keeping it would leave it this many connections
ahead of the least-loaded worker (so 4 connections on 2 workers end 2 and 2)."""

SLOT_ATTRIBUTE = "gql_users_slot"
"""The attribute of gunicorn's worker object that carries its slot from the master's
``pre_fork`` into the forked worker's ``post_fork``."""


LAST_REQUEST = re.compile(rb"\r\nconnection:[ \t]*close[ \t]*\r\n", re.IGNORECASE)
PEEK_BYTES = 4096


def last_request_waiting(sock: Any) -> bool:
    """Whether the connection's first request has arrived and says it is its last
    (``Connection: close``, as a client opening a connection per request sends): such a
    connection is served where it landed, since it would not stay long anywhere, and passing it
    on would add a hop through the other worker's event loop to its one request. Only peeks at
    the bytes waiting (``MSG_PEEK``): the worker that serves the connection reads them all.
    """
    peek = socket.socket(sock.family, sock.type, 0, sock.fileno())
    try:
        waiting = peek.recv(PEEK_BYTES, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except OSError:  # nothing yet (EAGAIN), or the client is gone: decided by the counts
        return False
    finally:
        peek.detach()  # the descriptor stays the transport's
    head = waiting.partition(b"\r\n\r\n")[0] + b"\r\n"
    return LAST_REQUEST.search(head) is not None


def _counters(size: int, value: int = 0) -> Any:  # a ctypes array of c_int64 (untyped)
    return RawArray(ctypes.c_int64, [value] * size)


class Balance:
    """The shared counts and hand-off sockets of a ``serve`` with more than one worker.

    Made in the master before any fork; every worker inherits it and serves from one slot.
    """

    def __init__(self, workers: int) -> None:
        self.slots = 2 * workers
        self.counts = _counters(self.slots, UNUSED)
        self.sent = _counters(self.slots * self.slots)
        self.received = _counters(self.slots)
        # One queue per slot: any worker sends into [0], the slot's worker reads from [1].
        self.queues = [
            socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM) for _ in range(self.slots)
        ]
        for pair in self.queues:
            for end in pair:
                end.setblocking(False)
        # In a worker, once it serves (start):
        self.slot = -1
        self.open = 0
        self.stopping = False
        self.server: web.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.adopting: set[asyncio.Task[None]] = set()

    # --- in the master -------------------------------------------------------------------
    def assign(self, worker: object, workers: Iterable[object]) -> None:
        """gunicorn's ``pre_fork``: give the worker about to be forked a slot that none of the
        master's live ``workers`` holds (none when all are held: it then serves alone)."""
        held = {getattr(other, SLOT_ATTRIBUTE, -1) for other in workers}
        free = [slot for slot in range(self.slots) if slot not in held]
        for slot in free:  # a slot whose worker ended without child_exit takes nothing
            self.counts[slot] = UNUSED
        setattr(worker, SLOT_ATTRIBUTE, free[0] if free else -1)

    def release(self, worker: object) -> None:
        """gunicorn's ``child_exit``: the worker's slot takes no more hand-offs. What is still
        in its queue waits there for the next worker of the slot."""
        slot = getattr(worker, SLOT_ATTRIBUTE, -1)
        if slot >= 0:
            self.counts[slot] = UNUSED

    # --- in a worker ---------------------------------------------------------------------
    def claim(self, worker: object) -> None:
        """gunicorn's ``post_fork``, in the new worker: its slot (hand-offs begin at start)."""
        self.slot = getattr(worker, SLOT_ATTRIBUTE, -1)

    def start(self, server: web.Server) -> None:
        """The worker's server is made: take connections handed to this slot, including any
        left in its queue by the slot's previous worker, and count from 0."""
        if self.slot < 0:
            return
        self.server, self.loop = server, asyncio.get_running_loop()
        self.open, self.stopping = 0, False
        self.loop.add_reader(self.queues[self.slot][1].fileno(), self._take_queued)
        self.counts[self.slot] = 0
        metrics.on_scrape(self.report)

    def stop(self) -> None:
        """The worker stops (SIGTERM): no more hand-offs to it; connections already in its
        queue go to another worker, or are served here when none takes them."""
        if self.slot < 0 or self.loop is None:
            return
        self.stopping = True
        self.counts[self.slot] = UNUSED
        self.loop.remove_reader(self.queues[self.slot][1].fileno())
        for fd in self._queued():
            target = self._least_loaded(UNUSED)
            if target is None or not self._send(fd, target):
                self._adopt(fd)
                continue
            os.close(fd)

    def handed_off(self, transport: asyncio.Transport) -> bool:
        """A connection arrived (before a byte of it is read): True when it was passed to a
        less-loaded worker, and this process's copy closed."""
        if self.open + 1 - min(self.counts) < AHEAD:  # the common path: one shared read
            return False
        target = self._least_loaded(self.open + 1 - AHEAD)
        sock = transport.get_extra_info("socket")
        if target is None or sock is None or last_request_waiting(sock):
            return False
        if not self._send(sock.fileno(), target):
            return False
        transport.abort()  # closes this process's descriptor only: the other one serves it
        return True

    def opened(self) -> None:
        self.open += 1
        if not self.stopping:
            self.counts[self.slot] = self.open

    def closed(self) -> None:
        self.open -= 1
        if not self.stopping:
            self.counts[self.slot] = self.open

    def report(self) -> None:
        """Before ``/metrics`` is written: every slot's count, as the shared memory has it."""
        for slot in range(self.slots):
            count = self.counts[slot]
            metrics.WORKER_CONNECTIONS.labels(slot=str(slot)).set(0 if count == UNUSED else count)

    def _load(self, slot: int) -> int:
        """A slot's open connections and those on their way to it."""
        on_the_way = sum(self.sent[k * self.slots + slot] for k in range(self.slots))
        return self.counts[slot] + on_the_way - self.received[slot]

    def _least_loaded(self, at_most: int) -> int | None:
        """Another slot taking hand-offs whose load is the least and at most ``at_most``."""
        best, best_load = None, at_most + 1
        for slot, count in enumerate(self.counts):
            if slot == self.slot or count >= best_load:  # (UNUSED slots too)
                continue
            load = self._load(slot)
            if load < best_load:
                best, best_load = slot, load
        return best

    def _send(self, fd: int, target: int) -> bool:
        index = self.slot * self.slots + target
        self.sent[index] += 1  # before the send: never seen as received before it was sent
        try:
            socket.send_fds(self.queues[target][0], [b"c"], [fd])
        except OSError as exc:  # the queue is full (EAGAIN), or worse: keep the connection
            self.sent[index] -= 1
            metrics.HANDOFFS.labels(outcome="failed").inc()
            log.debug("connection kept: hand-off to worker slot %d failed: %s", target, exc)
            return False
        metrics.HANDOFFS.labels(outcome="sent").inc()
        return True

    def _queued(self) -> list[int]:
        """The descriptors waiting in this slot's queue, now taken from it."""
        fds: list[int] = []
        while True:
            try:
                _data, received, _flags, _address = socket.recv_fds(self.queues[self.slot][1], 1, 1)
            except (BlockingIOError, InterruptedError):
                return fds
            self.received[self.slot] += len(received) or 1  # a message without one: none sent
            fds.extend(received)

    def _take_queued(self) -> None:
        for fd in self._queued():
            self._adopt(fd)

    def _adopt(self, fd: int) -> None:
        """Serve a connection another worker accepted, counted from now."""
        assert self.loop is not None
        sock = socket.socket(fileno=fd)
        self.opened()
        task = self.loop.create_task(self._serve(sock))
        self.adopting.add(task)
        task.add_done_callback(self.adopting.discard)

    async def _serve(self, sock: socket.socket) -> None:
        assert self.loop is not None and isinstance(self.server, BalancedServer)
        handler = self.server.handler(may_hand_off=False)
        try:
            await self.loop.connect_accepted_socket(lambda: handler, sock)
        except Exception:
            log.exception("a connection handed to this worker could not be served")
            if handler.transport is None:  # never counted as lost
                self.closed()
                sock.close()


class BalancedHandler(RequestHandler):
    """aiohttp's connection protocol, counted, and passed on when its worker is ahead."""

    __slots__ = ("_balance", "_may_hand_off")

    def __init__(self, balance: Balance, may_hand_off: bool, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._balance = balance
        self._may_hand_off = may_hand_off

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._may_hand_off:
            if self._balance.handed_off(cast(asyncio.Transport, transport)):
                self._manager = None  # nothing to undo in connection_lost
                return
            self._balance.opened()  # (a handed-in connection was counted when it came)
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._manager is not None:
            self._balance.closed()
        super().connection_lost(exc)


class BalancedServer(web.Server):
    """aiohttp's server (the protocol factory of the worker's socket) making BalancedHandlers."""

    balance: Balance

    def __call__(self) -> RequestHandler:
        return self.handler(may_hand_off=True)

    def handler(self, may_hand_off: bool) -> BalancedHandler:
        return BalancedHandler(self.balance, may_hand_off, self, loop=self._loop, **self._kwargs)


class BalancedRunner(web.AppRunner):
    """The worker's AppRunner: its server is a BalancedServer; stopping ends hand-offs first."""

    def __init__(self, app: web.Application, balance: Balance, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.balance = balance

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        if self.balance.slot < 0:  # no free slot (more workers than slots): served alone
            return server
        # aiohttp makes its Server in Application._make_handler: made a BalancedServer here
        # (a subclass adding methods only, no state of its own but the balance).
        server.__class__ = BalancedServer
        assert isinstance(server, BalancedServer)
        server.balance = self.balance
        self.balance.start(server)
        return server

    async def cleanup(self) -> None:
        self.balance.stop()
        await super().cleanup()
