"""Signed media links (`GET /media/{token}`) on real uvicorn, on both stores: a valid link serves its image, an
altered or forged one is 404, an expired one 410, nothing outside what the bot chose to link is reachable, and
a link made by one process is served by another on the same database (several workers)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import httpx
import pytest

from bot.clock import FakeClock
from bot.data import Database
from bot.web.app import WebState, create_app
from bot.web.media import MediaStore
from bot.web.server import serving
from tests.conftest import ROOT

PNG = b"\x89PNG\r\n\x1a\n" + b"chart" * 100


@pytest.fixture
async def media(store):
    """(media store, client) on this test's database; the base URL is the test server's, the clock a FakeClock."""
    clock = FakeClock()
    db = await Database.open(store)
    media = MediaStore(content_dir=ROOT / "content", ttl=600, clock=clock)
    await media.open(db)
    state = WebState(media=media, clock=clock)
    try:
        async with serving(create_app(state)) as url, httpx.AsyncClient() as client:
            media.base_url = url
            yield media, client
    finally:
        await db.close()


async def blobs(media: MediaStore) -> int:
    return (await media.db.fetchone("SELECT COUNT(*) AS n FROM media_blobs"))["n"]


def path_of(url: str) -> str:
    return url.split("/media/", 1)[1]


async def test_a_valid_link_serves_the_image(media):
    store, client = media
    url = await store.url_for_bytes(PNG, "image/png")
    assert url.startswith(store.base_url + "/media/")
    answer = await client.get(url)
    assert answer.status_code == 200
    assert answer.content == PNG and answer.headers["content-type"] == "image/png"


async def test_a_content_file_is_served_by_its_link(media):
    store, client = media
    guide = sorted((ROOT / "content" / "guides").glob("*.toml"))[0]
    answer = await client.get(store.url_for_file(guide))
    assert answer.status_code == 200 and answer.content == guide.read_bytes()
    assert (await client.get(store.url_for_file(guide.relative_to(ROOT / "content")))).status_code == 200


async def test_an_altered_or_forged_link_is_404_without_detail(media):
    store, client = media
    token = path_of(await store.url_for_bytes(PNG, "image/png"))
    payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    forged_payload = base64.urlsafe_b64encode(b"f|../pyproject.toml|9999999999").rstrip(b"=").decode()
    for bad in (f"{payload}.{flipped}", f"{forged_payload}.{signature}", payload, "x.y", "..", "%2e%2e"):
        answer = await client.get(f"{store.base_url}/media/{bad}")
        assert answer.status_code == 404, bad
        assert answer.content in (b"", b"Not Found")  # no reason given


async def test_an_unsigned_token_with_an_absurd_date_is_404_not_a_server_error(media):
    """Anyone can send any token: one whose expiry no clock can hold is 404 like any forgery (it was a 500 and a
    traceback in the log, before the signature was even checked)."""
    store, client = media
    for payload in (b"b|x|99999999999999999999", b"b|x|-99999999999999999999", b"f|guides|1" + b"0" * 400):
        token = base64.urlsafe_b64encode(payload).rstrip(b"=").decode() + ".AAAA"
        answer = await client.get(f"{store.base_url}/media/{token}")
        assert answer.status_code == 404, payload


async def test_an_expired_link_is_410(media):
    store, client = media
    url = await store.url_for_bytes(PNG, "image/png")
    store.clock.advance(599)
    assert (await client.get(url)).status_code == 200
    store.clock.advance(1)
    answer = await client.get(url)
    assert answer.status_code == 410 and answer.content == b""


async def test_nothing_outside_the_content_folder_gets_a_link(media, tmp_path):
    store, _ = media
    outside = tmp_path / "secret.png"
    outside.write_bytes(PNG)
    link = tmp_path / "link.png"
    link.symlink_to(ROOT / "pyproject.toml")
    for path in (ROOT / "pyproject.toml", Path("../pyproject.toml"), outside, ROOT / "content",
                 ROOT / "content" / "missing.png", Path("/etc/passwd")):
        assert store.url_for_file(path) is None, path


async def test_without_a_public_address_or_a_database_there_are_no_links(media):
    opened, _ = media
    for store in (MediaStore("", content_dir=ROOT / "content"), MediaStore("https://bot.example.vn")):
        if store.base_url == "":
            await store.open(opened.db)
        assert await store.url_for_bytes(PNG, "image/png") is None
        assert store.url_for_file(sorted((ROOT / "content" / "guides").glob("*.toml"))[0]) is None
    assert await blobs(opened) == 0


async def test_each_item_is_bounded_and_expired_ones_are_deleted(media):
    store, client = media
    store.max_bytes = len(PNG)
    assert await store.url_for_bytes(PNG + b"x", "image/png") is None  # too large: no link, nothing kept
    urls = [await store.url_for_bytes(PNG, "image/png") for _ in range(3)]
    assert [(await client.get(u)).status_code for u in urls] == [200, 200, 200]
    assert await blobs(store) == 3
    store.clock.advance(601)  # expired images are deleted when the next one is made
    await store.url_for_bytes(PNG, "image/png")
    assert await blobs(store) == 1
    store.clock.advance(601)  # and by the retention tick
    assert await store.prune() == 1 and await blobs(store) == 0


async def test_a_one_time_link_shows_a_page_then_downloads_once(media):
    store, client = media
    url = await store.url_for_bytes(b"name,phone\n", "text/csv", once=True, filename="du-lieu.csv")
    for _ in range(2):  # a link preview (and the person's first look) fetch the page, not the file
        page = await client.get(url)
        assert page.status_code == 200 and "du-lieu.csv" in page.text and page.headers["cache-control"] == "no-store"
    answer = await client.get(url, params={"download": "1"})
    assert answer.status_code == 200 and answer.content == b"name,phone\n"
    assert "attachment" in answer.headers["content-disposition"]
    assert (await client.get(url, params={"download": "1"})).status_code == 404
    assert (await client.get(url)).status_code == 404 and await blobs(store) == 0


async def test_a_link_from_a_store_not_on_this_database_is_404(media, tmp_path):
    mine, _ = media
    other_db = await Database.open(tmp_path / "other.sqlite3")  # another bot altogether: another key
    try:
        other = MediaStore("https://bot.example.vn", clock=mine.clock)
        await other.open(other_db)
        url = await other.url_for_bytes(PNG, "image/png")
        assert await mine.resolve(path_of(url)) is None
    finally:
        await other_db.close()


async def test_a_link_made_by_one_process_is_served_by_another_and_after_a_restart(media, store):
    """Two processes on one database (a worker makes the link, the ingress serves it), each with its own
    connection, loaded key and memory; a one-time link resolved by both at once goes to exactly one."""
    serving_store, client = media
    worker_db = await Database.open(store)
    try:
        worker = MediaStore("https://bot.example.vn", content_dir=ROOT / "content", clock=serving_store.clock)
        await worker.open(worker_db)
        image = await worker.url_for_bytes(PNG, "image/png")
        guide = worker.url_for_file(sorted((ROOT / "content" / "guides").glob("*.toml"))[0])
        for url in (image, guide):
            answer = await client.get(serving_store.base_url + "/media/" + path_of(url))
            assert answer.status_code == 200
        assert answer.content == sorted((ROOT / "content" / "guides").glob("*.toml"))[0].read_bytes()
        for attempt in range(5):  # each round: both "processes" download the same one-time file at once
            token = path_of(await worker.url_for_bytes(b"my data %d" % attempt, "text/csv", once=True,
                                                       filename="du-lieu.csv"))
            got = await asyncio.gather(serving_store.resolve(token), worker.resolve(token))
            assert sorted(m is not None for m in got) == [False, True], attempt
            assert [m.body for m in got if m is not None] == [b"my data %d" % attempt]
        restarted = MediaStore("https://bot.example.vn", clock=serving_store.clock)  # a new process: same key
        await restarted.open(worker_db)
        assert (await restarted.resolve(path_of(image))).body == PNG
    finally:
        await worker_db.close()


async def test_two_processes_starting_at_once_share_one_key(store):
    dbs = [await Database.open(store) for _ in range(2)]
    try:
        stores = [MediaStore("https://bot.example.vn") for _ in dbs]
        await asyncio.gather(*(s.open(db) for s, db in zip(stores, dbs, strict=True)))
        assert stores[0]._key == stores[1]._key and len(stores[0]._key) == 32
        rows = await dbs[0].fetchall("SELECT name FROM media_keys")
        assert [r["name"] for r in rows] == ["media"]
    finally:
        for db in dbs:
            await db.close()
