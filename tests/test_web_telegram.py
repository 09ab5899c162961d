"""Telegram's webhook end to end in one process: real uvicorn on loopback, httpx posting the JSON Telegram
would post, the real Application answering through the Bot API stand-in; and /metrics reading the database."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import campaigns, stats
from bot.app import attach
from bot.campaigns import Draft
from bot.web.app import WebState, create_app
from bot.web.server import serving
from bot.web.telegram import SECRET_HEADER, TelegramWebhook
from tests.conftest import ADMIN, open_bot
from tests.handlers.test_requests import file_request
from tests.test_campaigns import no_sleep, run_ticks, seed

SECRET = "Telegram_Secret-42"
ids = itertools.count(1000)


@pytest.fixture
async def served(settings):
    """(harness, state, client): the bot behind POST /telegram, ready."""
    async with open_bot(settings) as bot:
        state = WebState(clock=bot.clock, media=bot.svc.media)
        attach(bot.app, state)
        state.register(TelegramWebhook(bot.app, SECRET))
        state.touch("telegram")
        state.phase = "ready"
        bot.svc.sender.sleep = no_sleep
        async with serving(create_app(state)) as url, httpx.AsyncClient(base_url=url) as client:
            bot.svc.media.base_url = url  # PUBLIC_BASE_URL: this test server
            yield bot, state, client


def start_update(user: int, text: str = "/start", update_id: int | None = None) -> dict:
    """What Telegram posts when `user` sends `text` in their private chat."""
    message = {"message_id": next(ids), "date": 1_764_000_000, "text": text,
               "chat": {"id": user, "type": "private", "first_name": "Lan"},
               "from": {"id": user, "is_bot": False, "first_name": "Lan"}}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id if update_id is not None else next(ids), "message": message}


async def until(bot, condition, within: float = 10.0) -> None:
    """Wait for `condition()` to hold, re-checked each time the bot sends something."""
    sent = asyncio.Event()
    bot.api.listeners.append(lambda _event: sent.set())
    async with asyncio.timeout(within):
        while not condition():
            sent.clear()
            await sent.wait()


def to(bot, chat: int) -> list[str]:
    return [e.text for e in bot.api.sent if e.chat_id == chat and e.kind == "to"]


async def test_an_update_with_the_right_secret_is_answered(served):
    bot, _state, client = served
    answer = await client.post("/telegram", json=start_update(1001), headers={SECRET_HEADER: SECRET})
    assert answer.status_code == 200
    await until(bot, lambda: to(bot, 1001))
    assert to(bot, 1001)[0].startswith("Chào bạn! Mình là Trợ lý số.")
    assert (await bot.svc.db.fetchone("SELECT first_name FROM users WHERE id = 1001"))[0] == "Lan"


async def test_a_wrong_or_missing_secret_is_refused_and_not_processed(served):
    bot, state, client = served
    for headers in ({SECRET_HEADER: "wrong"}, {}, {"X-Bot-Api-Secret-Token": SECRET}):
        answer = await client.post("/telegram", json=start_update(1002), headers=headers)
        assert answer.status_code == 403
    await state.ingress.drain(5)
    assert bot.api.sent == []
    assert await bot.svc.db.fetchone("SELECT 1 FROM users WHERE id = 1002") is None


async def test_a_resent_update_is_answered_once(served):
    bot, state, client = served
    update = start_update(1003)
    for _ in range(3):  # Telegram re-sends when our 200 is late
        assert (await client.post("/telegram", json=update, headers={SECRET_HEADER: SECRET})).status_code == 200
    await until(bot, lambda: to(bot, 1003))
    await state.ingress.drain(5)
    assert len(to(bot, 1003)) == 1


async def test_an_update_id_no_integer_can_hold_or_a_field_of_the_wrong_kind_is_400(served):
    bot, state, client = served
    for body in (b'{"update_id": 1e400}', b'{"update_id": -1e400, "message": {}}',
                 b'{"update_id": 5, "message": {"from": {"id": 1e999}}}',
                 b'{"update_id": 6, "callback_query": {"message": "not an object"}}'):
        answer = await client.post("/telegram", content=body, headers={SECRET_HEADER: SECRET})
        assert answer.status_code == 400, body
    await state.ingress.drain(5)
    assert bot.api.sent == []


async def test_one_persons_updates_are_answered_in_order(served):
    bot, state, client = served
    texts = ["/start", "/help", "/start", "/help", "/start"]
    for person in (2001, 2002, 2003):  # three people at once, each sending quickly
        for text in texts:
            answer = await client.post("/telegram", json=start_update(person, text), headers={SECRET_HEADER: SECRET})
            assert answer.status_code == 200
    await state.ingress.drain(10)
    for person in (2001, 2002, 2003):
        greetings = [t.startswith("Chào bạn!") for t in to(bot, person)]
        assert greetings == [True, False, True, False, True], to(bot, person)


async def test_the_stats_chart_by_link_for_a_channel_that_needs_urls(served):
    bot, _state, client = served
    png = await stats.chart_png(bot.svc, await bot.svc.translator(ADMIN))
    url = await bot.svc.media.url_for_bytes(png, "image/png")  # what the Zalo adapter sends instead of the bytes
    answer = await client.get(url)
    assert answer.status_code == 200 and answer.content == png and answer.content.startswith(b"\x89PNG")
    bot.clock.advance(bot.svc.settings.media_ttl)  # the bot's own clock: MEDIA_TTL later the link is gone
    assert (await client.get(url)).status_code == 410


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_move_with_updates_requests_campaigns_and_send_errors(served):
    bot, state, client = served
    for person in (3001, 3002):
        await client.post("/telegram", json=start_update(person), headers={SECRET_HEADER: SECRET})
    await state.ingress.drain(5)
    request = await file_request(bot)  # a resident asks for help (ward Bến Thành), through the stand-in
    bot.clock.advance(125)
    blocked = (await seed(bot, 3))[0]
    bot.api.blocked.add(blocked)
    await campaigns.create(bot.svc, ADMIN, Draft("📣 Tiêm chủng miễn phí"), None)
    await run_ticks(bot)

    text = (await client.get("/metrics")).text
    after = samples(text)
    assert after[("bot_updates_total", (("channel", "telegram"), ("kind", "message")))] == 2
    assert after[("bot_update_seconds_count", (("channel", "telegram"), ("kind", "message")))] == 2
    assert after[("bot_open_requests", (("level", "0"), ("ward", request.ward)))] == 1
    assert after[("bot_oldest_open_request_seconds", ())] == 125
    assert after[("bot_campaign_messages_total", (("channel", "telegram"), ("outcome", "sent")))] >= 2
    assert after[("bot_campaign_messages_total", (("channel", "telegram"), ("outcome", "blocked")))] == 1
    assert after[("bot_send_errors_total", (("channel", "telegram"), ("kind", "unreachable")))] == 1
    labels = " ".join(f"{name} {labelset}" for name, labelset in after)  # names and label values, not the numbers
    for needle in ("3001", "3002", str(blocked), request.code, "Lan", "+84"):
        assert needle not in labels  # no id, name, code or phone in any metric's name or label
