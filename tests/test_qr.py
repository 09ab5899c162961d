from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from bot import qr
from bot.content import load

CONTENT = Path(__file__).parents[1] / "content"
BOT = "TroLySoBot"


@pytest.fixture(scope="module")
def content():
    return load(CONTENT)


def decode(path: Path) -> list[str]:
    with Image.open(path) as image:
        return [r.text for r in zxingcpp.read_barcodes(image)]


def test_deep_link():
    assert qr.deep_link(BOT, "vietqr-pay") == "https://t.me/TroLySoBot?start=vietqr-pay"
    assert qr.deep_link("@" + BOT, "vietqr-pay") == "https://t.me/TroLySoBot?start=vietqr-pay"


def test_poster_decodes_to_the_deep_link(tmp_path):
    url = qr.deep_link(BOT, "scam-calls")
    out = qr.make_poster(url, "Nhận biết lừa đảo qua điện thoại và trên mạng", tmp_path / "p.png")
    assert out == tmp_path / "p.png"
    with Image.open(out) as image:
        assert image.mode == "RGB"
        assert image.width >= 1200
        assert image.getpixel((5, 5)) == (255, 255, 255)
    assert decode(out) == [url]


def test_long_title_still_fits(tmp_path):
    url = qr.deep_link(BOT, "x")
    title = "Hướng dẫn rất dài " * 12 + "Đặtlịchkhámbệnhviệntrựctuyến" * 3
    out = qr.make_poster(url, title, tmp_path / "long.png")
    assert decode(out) == [url]


def test_cli_one_guide(tmp_path, content, capsys):
    out = tmp_path / "poster.png"
    assert qr.run(["vietqr-pay", "-o", str(out)], content, BOT) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert decode(out) == [qr.deep_link(BOT, "vietqr-pay")]


def test_cli_all(tmp_path, content, capsys):
    folder = tmp_path / "posters"
    assert qr.run(["--all", "-o", str(folder)], content, BOT) == 0
    written = sorted(folder.glob("*.png"))
    assert [p.stem for p in written] == sorted(content.guides)
    assert sorted(capsys.readouterr().out.split()) == sorted(str(p) for p in written)
    assert decode(folder / "vneid-install.png") == [qr.deep_link(BOT, "vneid-install")]


def test_cli_unknown_guide(tmp_path, content, capsys):
    assert qr.run(["no-such-guide", "-o", str(tmp_path / "x.png")], content, BOT) == 2
    err = capsys.readouterr().err
    assert "no-such-guide" in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_cli_bad_arguments(content, capsys):
    assert qr.run([], content, BOT) == 2
    assert qr.run(["vietqr-pay", "--all", "-o", "x"], content, BOT) == 2


def test_cli_writes_one_poster_per_guide(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).parents[1]
    result = subprocess.run([sys.executable, "-m", "bot", "qr", "--all", "-o", str(tmp_path / "posters")],
                            cwd=root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    written = sorted(p.stem for p in (tmp_path / "posters").glob("*.png"))
    assert written == sorted(load(root / "content").guides)


def test_with_zalo_bot_link_the_poster_carries_both_codes_and_the_short_code(tmp_path, content):
    out = tmp_path / "both.png"
    assert qr.run(["vietqr-pay", "-o", str(out)], content, BOT, "https://zalo.me/s/standin-bot") == 0
    assert sorted(decode(out)) == sorted([qr.deep_link(BOT, "vietqr-pay"), "https://zalo.me/s/standin-bot"])
