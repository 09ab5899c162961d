"""A small client for Zalo's Bot Platform API over httpx (python-zalo-bot is not used: README "Zalo").

`{ZALO_API_BASE_URL}/bot{ZALO_BOT_TOKEN}/{method}`, POST JSON, envelope `{ok, result, description, error_code}`.
Errors may come as HTTP 200 with `ok: false`, so `ok` is always read. A poll with nothing new answers 408.
429 ("Quota exceeded", no retry-after) and 5xx are retried with backoff from 1 s doubling to 60 s; sends are
spaced to ZALO_RATE per second for the whole bot. The token is never logged (it is part of the URL).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.campaigns import limiter

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0  # seconds; Zalo gives no retry-after
RETRIED = frozenset({429, 500, 502, 503, 504})
TIMEOUT = 408  # getUpdates: nothing new


class ZaloApiError(Exception):
    """Zalo answered `ok: false` (or a non-JSON error): `code` is `error_code`, else the HTTP status."""

    def __init__(self, code: int, description: str):
        super().__init__(f"Zalo API error {code}: {description}")
        self.code, self.description = code, description


class ZaloClient:
    """Calls Zalo's Bot API; `transport` swaps Zalo's servers for the stand-in (bot/channels/zalo/standin.py)."""

    def __init__(self, token: str, base_url: str, rate: int, *, transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Sleep = asyncio.sleep, max_attempts: int = 6, poll_timeout: int = 30):
        self._url = f"{base_url.rstrip('/')}/bot{token}/"
        self._http = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(10.0, read=poll_timeout + 10.0))
        self._limiter = limiter(rate)  # campaigns' leaky bucket: every 1-s window holds fewer than `rate` sends
        self._sleep = sleep
        self.max_attempts = max_attempts
        self.poll_timeout = poll_timeout
        self.backoffs: list[float] = []  # every pause taken, for tests and the bench

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _once(self, method: str, payload: dict[str, Any]) -> Any:
        try:
            response = await self._http.post(self._url + method, json=payload)
        except httpx.TimeoutException as exc:
            raise ZaloApiError(504, "timed out") from exc
        except httpx.TransportError as exc:
            raise ZaloApiError(502, f"network error ({type(exc).__name__})") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ZaloApiError(response.status_code if response.status_code >= 400 else 502, "not a JSON answer")
        if body.get("ok") is True:
            return body.get("result")
        code = body.get("error_code")
        code = int(code) if isinstance(code, int | str) and str(code).lstrip("-").isdigit() else response.status_code
        raise ZaloApiError(code if code >= 400 else response.status_code if response.status_code >= 400 else 400,
                           str(body.get("description") or "unknown error"))

    async def call(self, method: str, payload: dict[str, Any] | None = None, *, attempts: int | None = None) -> Any:
        """One API call; its `result`. Raises ZaloApiError once retries (429, 5xx, network) are spent: up to
        `attempts` tries (default `max_attempts`; 1: no retry, the caller decides, as the start-up does)."""
        payload = payload or {}
        if method.startswith("send"):
            await self._limiter.acquire()
        delay = BACKOFF_FIRST
        attempts = attempts or self.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                return await self._once(method, payload)
            except ZaloApiError as exc:
                if exc.code not in RETRIED or attempt == attempts or method == "getUpdates":
                    raise
                log.warning("zalo: retrying", extra={"method": method, "code": exc.code, "pause": delay})
                self.backoffs.append(delay)
                await self._sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
        raise AssertionError("unreachable")

    async def get_me(self) -> dict:
        """The bot's own account; a refused token raises ZaloApiError with code 401."""
        return await self.call("getMe")

    async def get_update(self) -> dict | None:
        """One long poll: the update, or None when nothing came (Zalo's 408)."""
        try:
            return await self.call("getUpdates", {"timeout": str(self.poll_timeout)})
        except ZaloApiError as exc:
            if exc.code == TIMEOUT:
                return None
            raise

    async def delete_webhook(self) -> None:
        """Remove the webhook, so that getUpdates works (it does not while one is set)."""
        await self.call("deleteWebhook")

    async def set_webhook(self, url: str, secret_token: str) -> None:
        """Register the server mode's HTTPS webhook; Zalo sends `secret_token` back in X-Bot-Api-Secret-Token."""
        await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def send_message(self, chat_id: str, text: str) -> dict:
        """One text of 1 to 2,000 characters (bot/channels/zalo/render.py cuts longer ones)."""
        return await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def send_photo(self, chat_id: str, url: str, caption: str | None = None) -> dict:
        """A photo by its public URL (Zalo fetches it), with an optional caption."""
        payload = {"chat_id": chat_id, "photo": url}
        if caption:
            payload["caption"] = caption
        return await self.call("sendPhoto", payload)
