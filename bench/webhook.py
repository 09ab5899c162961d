"""Webhook ingress: updates/s through `POST /telegram` over loopback with 50 concurrent senders, and the
latency to the 200, beside a bare Starlette endpoint that only answers 200, in the same run.

The server runs in its own process (real uvicorn, the real Application on the in-process Bot API stand-in,
a temp SQLite file), the senders in this one (50 connections kept alive), so the two do not share a
core's time slices more than the machine forces. The bot's server answers each POST at once and processes
the update behind it; "processed" is the time until the last update's handlers finished.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx

SECRET = "bench_secret"
SENDERS = 50
SIZES = {"smoke": 300, "full": 6000}
TEXTS = ("/start", "vneid", "/help", "quên mật khẩu", "/start", "thanh toán hóa đơn")


def updates(n: int) -> list[dict]:
    """n text messages from n/3 people (three each, so per-person order matters), as Telegram posts them."""
    people = max(1, n // 3)
    out = []
    for i in range(n):
        user = 10_000 + i % people
        text = TEXTS[i % len(TEXTS)]
        message = {"message_id": i + 1, "date": 1_764_000_000, "text": text,
                   "chat": {"id": user, "type": "private", "first_name": "Lan"},
                   "from": {"id": user, "is_bot": False, "first_name": "Lan"}}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        out.append({"update_id": i + 1, "message": message})
    return out


# --- the server process -------------------------------------------------------------------------------
async def _serve(which: str) -> None:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Mount, Route

    from bench.harness import open_bot
    from bot.app import attach
    from bot.web.app import WebState, create_app
    from bot.web.server import serving
    from bot.web.telegram import TelegramWebhook

    async def bare(request) -> Response:
        await request.body()
        return Response(status_code=200)

    if which == "bare":
        app = Starlette(routes=[Route("/telegram", bare, methods=["POST"])])
        async with serving(app) as url:
            print(url, flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        return

    async with open_bot(fake_clock=False) as b:
        state = WebState(media=b.svc.media)
        attach(b.app, state)
        state.register(TelegramWebhook(b.app, SECRET))
        state.phase = "ready"

        async def drained(request) -> Response:
            await state.ingress.drain()
            return JSONResponse({"at": time.time(), "sent": b.api.calls["sendMessage"]})

        app = Starlette(routes=[Route("/_bench/drained", drained), Mount("/", create_app(state))])
        async with serving(app) as url:
            print(url, flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


# --- the senders --------------------------------------------------------------------------------------
class Connection:
    """One kept-alive HTTP/1.1 connection of a sender. The load generator writes its requests itself: httpx's
    own cost per request (about 3 ms here with 50 connections) would be what is measured, not the servers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer, f"{host}:{port}")

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """POST and read the whole answer; its status code."""
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n{head}\r\n"
                          .encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        self.writer.close()


async def _load(url: str, payloads: list[dict]) -> dict:
    bodies = iter([json.dumps(p).encode() for p in payloads])
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    connections = [await Connection.open(url) for _ in range(SENDERS)]

    async def sender(connection: Connection) -> None:
        for body in bodies:
            started = time.perf_counter()
            status = await connection.post("/telegram", body, headers)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

    try:
        started = time.perf_counter()
        wall_start = time.time()
        await asyncio.gather(*(sender(c) for c in connections))
        seconds = time.perf_counter() - started
    finally:
        for connection in connections:
            connection.close()
    return {"seconds": seconds, "wall start": wall_start, "statuses": statuses, "latencies": latencies}


async def measure(which: str, payloads: list[dict]) -> dict:
    from bench.harness import percentiles

    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.webhook", "--serve", which,
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        url = (await proc.stdout.readline()).decode().strip()
        result = await _load(url, payloads)
        if which == "bot":
            async with httpx.AsyncClient(timeout=120) as client:
                done = (await client.get(f"{url}/_bench/drained")).json()
            result["processed s"] = done["at"] - result["wall start"]
            result["replies"] = done["sent"]
    finally:
        proc.stdin.write(b"\n")  # the server stops
        proc.stdin.close()
        await asyncio.wait_for(proc.wait(), 30)
    n = len(payloads)
    assert result["statuses"] == {200: n}, result["statuses"]
    out = {"updates": n, "updates/s": n / result["seconds"], "latency ms": percentiles(result["latencies"])}
    if which == "bot":
        out["processed updates/s"] = n / result["processed s"]
        out["replies"] = result["replies"]
    return out


async def _sequential(payloads: list[dict]) -> float:
    """Updates/s for the same updates through `process_update` one at a time, in-process: what the bot's
    handlers cost without HTTP (the reference for "processed")."""
    from telegram import Update

    from bench.harness import open_bot

    async with open_bot(fake_clock=False) as b:
        started = time.perf_counter()
        for payload in payloads:
            await b.app.process_update(Update.de_json(payload, b.app.bot))
        return len(payloads) / (time.perf_counter() - started)


async def run(size: str = "full") -> dict:
    payloads = updates(SIZES[size])
    bare = await measure("bare", payloads)
    bot = await measure("bot", payloads)
    sequential = await _sequential(payloads)
    return {"senders": SENDERS, "bot": bot, "bare": bare, "ratio": bot["updates/s"] / bare["updates/s"],
            "sequential updates/s": sequential, "processed ratio": bot["processed updates/s"] / sequential}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        asyncio.run(_serve(sys.argv[2]))
    else:
        print(json.dumps(asyncio.run(run(sys.argv[1] if len(sys.argv) > 1 else "full")), indent=1))
