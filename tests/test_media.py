"""Signed media links (`GET /media/{token}`) on real uvicorn: a valid link serves its image, an altered or
forged one is 404, an expired one 410, and nothing outside what the bot chose to link is reachable."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from bot.clock import FakeClock
from bot.web.app import WebState, create_app
from bot.web.media import MediaStore
from bot.web.server import serving
from tests.conftest import ROOT

PNG = b"\x89PNG\r\n\x1a\n" + b"chart" * 100


@pytest.fixture
async def media():
    """(store, client); the store's base URL is the test server's, its clock a FakeClock."""
    clock = FakeClock()
    store = MediaStore(content_dir=ROOT / "content", ttl=600, clock=clock)
    state = WebState(media=store, clock=clock)
    async with serving(create_app(state)) as url, httpx.AsyncClient() as client:
        store.base_url = url
        yield store, client


def path_of(url: str) -> str:
    return url.split("/media/", 1)[1]


async def test_a_valid_link_serves_the_image(media):
    store, client = media
    url = store.url_for_bytes(PNG, "image/png")
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
    token = path_of(store.url_for_bytes(PNG, "image/png"))
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
    url = store.url_for_bytes(PNG, "image/png")
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


async def test_without_a_public_address_there_are_no_links():
    store = MediaStore("", content_dir=ROOT / "content")
    assert store.url_for_bytes(PNG, "image/png") is None
    assert store.url_for_file(sorted((ROOT / "content" / "guides").glob("*.toml"))[0]) is None


async def test_generated_images_are_bounded_in_memory_oldest_first(media):
    store, client = media
    store.max_bytes = 3 * len(PNG)
    urls = [store.url_for_bytes(PNG, "image/png") for _ in range(4)]
    assert [(await client.get(u)).status_code for u in urls] == [404, 200, 200, 200]
    store.clock.advance(601)  # expired images are dropped when the next one is made
    store.url_for_bytes(PNG, "image/png")
    assert len(store._blobs) == 1


async def test_a_link_from_another_process_is_404():
    mine = MediaStore("https://bot.example.vn")
    other = MediaStore("https://bot.example.vn")  # a restart: a new key
    url = other.url_for_bytes(PNG, "image/png")
    assert mine.resolve(path_of(url)) is None
