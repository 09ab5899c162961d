"""The HTTP server (uvicorn) in the bot's own event loop, as python-telegram-bot's custom-webhook example does:
a socket bound at start (a taken port is one line), the server as a task, and `serving` for tests and benchmarks.
What it serves is bot/web/app.py; when and how production starts and stops it is `bot.app.serve`."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import AsyncIterator

import uvicorn

from bot.config import StartupError


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `serve` decides when the server stops (after the drain)."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound now so that a taken port is one line at start (PORT=0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio turns on TCP_NODELAY only for sockets whose proto says TCP; without it
    # a response written in two parts (uvicorn: headers, then body) waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:  # the host, not the port
            raise StartupError(f"HOST: cannot listen on {host}:{port} ({exc.strerror}): set HOST to an address "
                               "of this machine (127.0.0.1, or 0.0.0.0 for all)") from None
        raise StartupError(f"HOST/PORT: cannot listen on {host}:{port} ({exc.strerror}): choose another PORT "
                           "or stop what uses it") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def http_server(asgi_app, sock: socket.socket, *, keep_alive: float = 5) -> tuple[_Server, asyncio.Task]:
    """uvicorn serving `asgi_app` on `sock` in this event loop: (server, its task). Stop it with
    `server.should_exit = True; await task`. `server.started` turns True once it accepts connections.
    `keep_alive`: seconds an idle connection stays open (uvicorn's default, 5)."""
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    server = _Server(uvicorn.Config(asgi_app, log_config=None, access_log=False, lifespan="off",
                                    timeout_graceful_shutdown=5, timeout_keep_alive=int(keep_alive)))
    return server, asyncio.create_task(server.serve(sockets=[sock]), name="http-server")


@contextlib.asynccontextmanager
async def serving(asgi_app, host: str = "127.0.0.1", port: int = 0, *, keep_alive: float = 5) -> AsyncIterator[str]:
    """Serve `asgi_app` on loopback for the duration (tests and benchmarks): yields its base URL once it
    accepts connections."""
    sock = listen(host, port)
    address = sock.getsockname()
    server, task = http_server(asgi_app, sock, keep_alive=keep_alive)
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()  # its error
                await asyncio.sleep(0.005)
        yield f"http://{address[0]}:{address[1]}"
    finally:
        server.should_exit = True
        await task
