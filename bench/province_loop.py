"""One network thread for many MQTT clients (epoll), for the province scale benchmark.

A station runs one link with paho's own thread (`loop_start`). Thousands of links in one process
cannot: paho's loop uses select(), which stops at file descriptor 1024 (about 340 clients), and
thousands of threads contend for the GIL. Here one selector thread reads and writes every
client's socket and reconnects the dropped ones after each link's own random back-off (doubling
from its minimum to its maximum, as paho does) — the link's message handling is unchanged.
"""

import contextlib
import heapq
import itertools
import selectors
import socket
import threading
import time
from typing import Any

from paho.mqtt.client import Client

MISC_EVERY_S = 1.0


class NetworkLoop:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._clients: list[Client] = []
        self._delays: dict[int, tuple[float, float, float]] = {}
        """id(client) -> (minimum, maximum, next wait)."""
        self._retry: list[tuple[float, int, Client]] = []
        self._count = itertools.count()
        self._lock = threading.Lock()
        self._connected: dict[int, float] = {}
        """id(client) -> when its last connection was accepted (monotonic), while it lasts."""
        self.reconnects = 0
        self._to_write: set[Client] = set()
        """Clients with packets queued, written at the end of the loop's turn: not two
        epoll_ctl calls and a turn of their own for each packet."""
        self._writing: set[Client] = set()
        """Clients whose socket was full: the selector says when to write again."""
        self._wake, self._woken = socket.socketpair()
        self._wake.setblocking(False)
        self._selector.register(self._woken, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name="bench-network", daemon=True)
        self._thread.start()

    def add(self, client: Client, delays: tuple[float, float]) -> None:
        """Drive `client` (connect_async already called) with its link's reconnect delays."""
        client.on_socket_open = self._opened
        client.on_socket_close = self._closed
        client.on_socket_register_write = self._want_write
        client.on_socket_unregister_write = self._written
        self._watch(client)
        with self._lock:
            self._clients.append(client)
            self._delays[id(client)] = (delays[0], delays[1], delays[0])
            heapq.heappush(self._retry, (time.monotonic(), next(self._count), client))

    def connected_since(self) -> list[float]:
        """When each connected client's connection was accepted."""
        with self._lock:
            return list(self._connected.values())

    def _watch(self, client: Client) -> None:
        """Note when the broker accepts the client and when it drops, around the link's own
        callbacks: instead of asking thousands of links again and again."""
        on_connect, on_disconnect = client.on_connect, client.on_disconnect

        def connected(*args: Any) -> None:
            if on_connect is not None:
                on_connect(*args)
            if not args[3].is_failure:
                with self._lock:
                    self._connected[id(client)] = time.monotonic()

        def disconnected(*args: Any) -> None:
            with self._lock:
                self._connected.pop(id(client), None)
            if on_disconnect is not None:
                on_disconnect(*args)

        client.on_connect = connected
        client.on_disconnect = disconnected

    def _opened(self, client: Client, _userdata: Any, sock: Any) -> None:
        self._selector.register(sock, selectors.EVENT_READ, client)

    def _closed(self, client: Client, _userdata: Any, sock: Any) -> None:
        self._writing.discard(client)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        with self._lock:
            if id(client) in self._delays:
                low, high, wait = self._delays[id(client)]
                heapq.heappush(self._retry, (time.monotonic() + wait, next(self._count), client))
                self._delays[id(client)] = (low, high, min(wait * 2, high))

    def _want_write(self, client: Client, _userdata: Any, sock: Any) -> None:
        with self._lock:
            self._to_write.add(client)
        if threading.current_thread() is not self._thread:  # a link's own thread published
            with contextlib.suppress(BlockingIOError):
                self._wake.send(b"w")

    def _written(self, client: Client, _userdata: Any, sock: Any) -> None:
        if client in self._writing:
            self._writing.discard(client)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.modify(sock, selectors.EVENT_READ, client)

    def _write_queued(self) -> None:
        with self._lock:
            clients, self._to_write = self._to_write, set()
        for client in clients:
            client.loop_write()
            if client.want_write() and client not in self._writing:
                self._writing.add(client)
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.modify(
                        client.socket(), selectors.EVENT_READ | selectors.EVENT_WRITE, client
                    )

    def stop_reconnecting(self) -> None:
        """The links are stopping: a disconnect is no longer a drop."""
        with self._lock:
            self._delays.clear()

    def _run(self) -> None:
        last_misc = time.monotonic()
        while True:
            for key, events in self._selector.select(0.05 if self._retry else 0.5):
                client = key.data
                if client is None:
                    with contextlib.suppress(BlockingIOError):
                        self._woken.recv(4096)
                    continue
                if events & selectors.EVENT_READ:
                    client.loop_read()
                if events & selectors.EVENT_WRITE:
                    client.loop_write()
            self._write_queued()
            now = time.monotonic()
            due: list[Client] = []
            with self._lock:
                while self._retry and self._retry[0][0] <= now:
                    due.append(heapq.heappop(self._retry)[2])
            for client in due:
                if id(client) not in self._delays:
                    continue
                try:
                    client.reconnect()
                    self.reconnects += 1
                    with self._lock:  # connected: the next drop waits the minimum again
                        low, high, _wait = self._delays[id(client)]
                        self._delays[id(client)] = (low, high, low)
                except (OSError, KeyError):
                    self._closed(client, None, None)
            if now - last_misc >= MISC_EVERY_S:
                last_misc = now
                for client in list(self._clients):
                    client.loop_misc()
