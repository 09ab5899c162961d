"""The HTTP side's generic rules, on real uvicorn over loopback with httpx: any channel's webhook (here a tiny
test channel, as the Zalo adapter will be), /healthz, /readyz and /metrics."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.data import Database
from bot.web.app import CONTACT_STALE, MAX_BODY, WebState, create_app
from bot.web.ingress import Ingress, WebhookChannel
from bot.web.server import serving

SECRET = "s3cret_-X"


class TestChannel:
    """A channel as small as one can be: an update is {"id", "person", "text"}; accept records it."""

    __test__ = False  # not a pytest class
    name = "testchan"
    secret_header = "X-Bot-Api-Secret-Token"

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.accepted: list[dict] = []
        self.by_person: dict[str, list[str]] = defaultdict(list)
        self.gates: dict[str, asyncio.Event] = {}  # text -> event the update waits for before it finishes
        self.running = 0
        self.most_at_once = 0
        self.changed = asyncio.Event()

    def key(self, payload: dict) -> tuple[str, str]:
        return str(payload["id"]), str(payload["person"])

    def kind(self, payload: dict) -> str:
        return "message"

    async def accept(self, payload: dict) -> None:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            for _ in range(3):  # give others the loop, as real handlers do at each database call
                await asyncio.sleep(0)
            gate = self.gates.get(payload["text"])
            if gate is not None:
                await gate.wait()
            self.accepted.append(payload)
            self.by_person[payload["person"]].append(payload["text"])
        finally:
            self.running -= 1
            self.changed.set()

    async def until(self, condition, within: float = 10.0) -> None:
        """Wait for `condition()` to hold (re-checked whenever an update finishes)."""
        async with asyncio.timeout(within):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


def update(n: int, person: str = "p1", text: str | None = None) -> dict:
    return {"id": n, "person": person, "text": text or f"m{n}"}


@pytest.fixture
async def web(store, tmp_path):
    """A ready WebState with the test channel, served on loopback; yields (state, channel, client)."""
    state = WebState()
    channel = TestChannel()
    state.register(channel)
    state.db = await Database.open(store)
    state.content_loaded = lambda: True
    state.touch("testchan")
    state.phase = "ready"
    try:
        async with serving(create_app(state)) as url, httpx.AsyncClient(base_url=url) as client:
            yield state, channel, client
    finally:
        await state.db.close()


def post(client: httpx.AsyncClient, payload: object, secret: str | None = SECRET, path: str = "/testchan"):
    headers = {} if secret is None else {"X-Bot-Api-Secret-Token": secret}
    return client.post(path, json=payload, headers=headers)


def test_the_test_channel_is_a_webhook_channel():
    assert isinstance(TestChannel(), WebhookChannel)


async def test_the_right_secret_is_taken_and_a_wrong_or_missing_one_refused(web):
    _state, channel, client = web
    assert (await post(client, update(1))).status_code == 200
    await channel.until(lambda: len(channel.accepted) == 1)
    assert (await post(client, update(2), secret="wrong")).status_code == 403
    assert (await post(client, update(3), secret=None)).status_code == 403
    assert (await post(client, update(4), secret=SECRET + "x")).status_code == 403
    assert (await post(client, update(5))).status_code == 200
    await channel.until(lambda: len(channel.accepted) == 2)
    assert [p["id"] for p in channel.accepted] == [1, 5]  # the refused ones never reached the channel


async def test_a_channel_without_a_secret_takes_nothing(web):
    state, _, client = web
    open_channel = TestChannel(secret="")
    open_channel.name = "nosecret"
    state.register(open_channel)
    assert (await post(client, update(1), secret="", path="/nosecret")).status_code == 403
    assert (await post(client, update(1), secret=None, path="/nosecret")).status_code == 403


async def test_a_channel_not_configured_is_not_found(web):
    _, _, client = web
    assert (await post(client, update(1), path="/zalo")).status_code == 404
    assert (await client.get("/testchan")).status_code == 405  # webhooks are POST only


async def test_a_repeated_update_id_is_processed_once(web):
    _state, channel, client = web
    answers = await asyncio.gather(*(post(client, update(7)) for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5  # the sender is told it arrived, each time
    assert (await post(client, update(8))).status_code == 200
    await channel.until(lambda: any(p["id"] == 8 for p in channel.accepted))
    assert [p["id"] for p in channel.accepted] == [7, 8]


async def test_what_is_not_an_update_is_400_and_not_processed(web):
    _, channel, client = web
    assert (await client.post("/testchan", content=b"{not json", headers={"X-Bot-Api-Secret-Token": SECRET})
            ).status_code == 400
    assert (await post(client, [1, 2])).status_code == 400
    assert (await post(client, {"person": "p1"})).status_code == 400  # no id
    too_big = {"id": 99, "person": "p1", "text": "x" * MAX_BODY}
    assert (await post(client, too_big)).status_code == 400
    assert (await post(client, update(1))).status_code == 200
    await channel.until(lambda: len(channel.accepted) == 1)
    assert [p["id"] for p in channel.accepted] == [1]


async def test_any_malformed_body_is_400_never_a_server_error(web):
    """Whatever arrives with the right secret, a body that is not an update is a 400 (never a 500 and a traceback
    in the log): JSON nested too deep for the parser, a body sent in chunks beyond the limit (numbers too large
    for an id: test_web_telegram)."""
    _, channel, client = web
    headers = {"X-Bot-Api-Secret-Token": SECRET}
    deep = b"[" * 100_000 + b"]" * 100_000
    assert (await client.post("/testchan", content=deep, headers=headers)).status_code == 400

    async def chunks():  # no Content-Length: the limit must hold while the body is read
        for _ in range(MAX_BODY // 65536 + 2):
            yield b" " * 65536

    assert (await client.post("/testchan", content=chunks(), headers=headers)).status_code == 400
    assert (await post(client, update(1))).status_code == 200  # and the server is still taking updates
    await channel.until(lambda: len(channel.accepted) == 1)


async def test_each_persons_updates_run_in_order_and_people_at_once(web):
    _, channel, client = web
    people = [f"p{i}" for i in range(10)]

    async def talk(person: str, base: int) -> None:  # one person's phone: each update after the last was taken
        for n in range(10):
            answer = await post(client, update(base + n, person, f"{person}-{n}"))
            assert answer.status_code == 200

    await asyncio.gather(*(talk(person, i * 100) for i, person in enumerate(people)))
    await channel.until(lambda: len(channel.accepted) == 100)
    for person in people:
        assert channel.by_person[person] == [f"{person}-{n}" for n in range(10)]
    assert channel.most_at_once > 1  # different people's updates overlapped


async def test_a_slow_update_holds_back_only_its_own_person(web):
    _, channel, client = web
    gate = channel.gates["slow"] = asyncio.Event()
    assert (await post(client, update(1, "anh", "slow"))).status_code == 200  # answered before it is processed
    assert (await post(client, update(2, "anh", "after"))).status_code == 200
    assert (await post(client, update(3, "binh", "other"))).status_code == 200
    await channel.until(lambda: channel.by_person["binh"] == ["other"])
    assert channel.by_person["anh"] == []  # "after" waits behind "slow"
    gate.set()
    await channel.until(lambda: channel.by_person["anh"] == ["slow", "after"])


async def test_too_many_waiting_is_503_and_the_resend_is_taken(tmp_path):
    state = WebState()
    state.ingress = Ingress(state.metrics, max_pending=1)
    channel = TestChannel()
    state.register(channel)
    state.phase = "ready"
    gate = channel.gates["slow"] = asyncio.Event()
    async with serving(create_app(state)) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await post(client, update(1, text="slow"))).status_code == 200
        assert (await post(client, update(2))).status_code == 503  # full: the platform sends it again later
        gate.set()
        await channel.until(lambda: len(channel.accepted) == 1)
        assert (await post(client, update(2))).status_code == 200  # the re-send is not taken for a duplicate
        await channel.until(lambda: len(channel.accepted) == 2)


async def test_readyz_and_webhooks_while_starting_ready_and_draining(store, tmp_path):
    clock = [1000.0]
    state = WebState(monotonic=lambda: clock[0])
    channel = TestChannel()
    state.register(channel)
    async with serving(create_app(state)) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/healthz")).status_code == 200
        answer = await client.get("/readyz")
        assert answer.status_code == 503 and answer.json()["problems"] == ["starting"]
        assert (await post(client, update(1))).status_code == 503  # not taken: sent again later
        assert (await post(client, update(1), secret="bad")).status_code == 403  # strangers learn nothing more

        state.phase = "ready"
        answer = await client.get("/readyz")  # the checks now: nothing is open or loaded yet
        assert answer.status_code == 503
        assert answer.json()["problems"] == ["database", "content", "testchan: no contact"]
        state.db = await Database.open(store)
        state.content_loaded = lambda: True
        state.touch("testchan")
        answer = await client.get("/readyz")
        assert answer.status_code == 200 and answer.json() == {"ready": True, "problems": []}
        clock[0] += CONTACT_STALE + 1  # nothing heard from the channel for too long
        assert (await client.get("/readyz")).json()["problems"] == ["testchan: no contact"]
        assert (await post(client, update(1))).status_code == 200  # an update is contact
        assert (await client.get("/readyz")).status_code == 200

        state.phase = "draining"
        answer = await client.get("/readyz")
        assert answer.status_code == 503 and answer.json()["problems"] == ["draining"]
        assert (await post(client, update(2))).status_code == 503
        assert (await client.get("/healthz")).status_code == 200  # alive while it drains
        await state.ingress.drain(5)
        assert [p["id"] for p in channel.accepted] == [1]
        await state.db.close()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of an exposition, as {(name, sorted labels): value} (prometheus-client's own parser)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_parse_and_move_when_updates_flow(web):
    _state, channel, client = web
    before = samples((await client.get("/metrics")).text)
    assert before[("bot_oldest_open_request_seconds", ())] == 0
    for n in range(3):
        assert (await post(client, update(n, f"person-{n}"))).status_code == 200
    await post(client, update(0, "person-0"))  # a duplicate
    await post(client, update(9), secret="bad")
    await channel.until(lambda: len(channel.accepted) == 3)
    answer = await client.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain")
    after = samples(answer.text)
    assert after[("bot_updates_total", (("channel", "testchan"), ("kind", "message")))] == 3
    assert after[("bot_update_seconds_count", (("channel", "testchan"), ("kind", "message")))] == 3
    assert after[("bot_webhook_refused_total", (("channel", "testchan"), ("reason", "duplicate")))] == 1
    assert after[("bot_webhook_refused_total", (("channel", "testchan"), ("reason", "forbidden")))] == 1
    labels = {value for (_, pairs) in after for _, value in pairs}
    assert not any("person" in value for value in labels)  # no person's key in any label


def test_the_listening_socket_says_tcp_so_asyncio_turns_nagle_off():
    """asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP; with 0, every response uvicorn writes
    in two parts waited ~40 ms for the client's delayed ACK (measured: /healthz 44 ms → 1.2 ms)."""
    import socket

    from bot.web.server import listen

    sock = listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
