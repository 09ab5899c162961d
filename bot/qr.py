"""Printable QR posters that open one guide in the bot.

A ward officer prints a poster, sticks it on the notice board, and a resident scans it with the
phone camera: Telegram opens the bot on that guide (a /start deep link). No network and no system
fonts are needed: the QR code is drawn by `qrcode`, the text by Pillow in the DejaVu Sans font that
ships inside matplotlib (it has every Vietnamese letter).

The `qr` command (`run` below; the main entry point passes it the loaded content and bot name):

    qr vietqr-pay -o poster.png
    qr --all -o posters/
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_Q

if TYPE_CHECKING:
    from bot.content import Content

PAGE_WIDTH = 1240  # A4 at 150 dpi: 1240 x 1754 px
PAGE_HEIGHT = 1754
DPI = 150
MARGIN = 100
QR_SIZE = 1000  # the QR code's side in px, quiet zone included
TITLE_SIZES = (72, 64, 56, 48)  # the largest size that fits in TITLE_MAX_LINES wins
TITLE_MAX_LINES = 4
URL_SIZE = 30


def deep_link(bot_username: str, guide_id: str) -> str:
    """The t.me link that opens the bot and sends /start <guide_id>."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={guide_id}"


@cache
def _font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    import matplotlib  # only for the path of the fonts it ships

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break text into lines no wider than width; a word too long for a line is cut."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for ch in word:  # start the word on a new line, cutting it if it is still too long
            if line and font.getlength(line + ch) > width:
                lines.append(line)
                line = ""
            line += ch
    if line:
        lines.append(line)
    return lines


def _qr_image(url: str) -> Image.Image:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, box_size=10, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    modules = qr.modules_count + 2 * qr.border
    qr.box_size = max(1, QR_SIZE // modules)  # whole pixels per module keep the edges sharp
    return qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")


ZALO_QR_SIZE = 520  # with a Zalo code too, the two codes stand side by side


def _zalo_codes(page: Image.Image, url: str, zalo: tuple[str, str, str], top: int) -> int:
    """Telegram's code on the left, Zalo's on the right, each named, and under Zalo's what to type (Zalo has
    no deep links: the person opens the bot, then types the guide's short code). Returns the y below them."""
    link, code, type_line = zalo
    draw = ImageDraw.Draw(page)
    label = _font(40)
    y = top
    for x, target, name in ((MARGIN, url, "Telegram"), (PAGE_WIDTH - MARGIN - ZALO_QR_SIZE, link, "Zalo")):
        image = _qr_image(target).resize((ZALO_QR_SIZE, ZALO_QR_SIZE), Image.NEAREST)
        page.paste(image, (x, top))
        draw.text((x + ZALO_QR_SIZE // 2, top + ZALO_QR_SIZE + 10), name, font=label, fill="black", anchor="ma")
        y = top + ZALO_QR_SIZE + 10 + int(label.size * 1.3)
    x = PAGE_WIDTH - MARGIN - ZALO_QR_SIZE // 2
    draw.text((x, y), type_line, font=_font(36, bold=False), fill="black", anchor="ma")
    draw.text((x, y + 50), code, font=_font(48), fill="black", anchor="ma")
    return y + 130


def make_poster(url: str, title: str, out: Path, zalo: tuple[str, str, str] | None = None) -> Path:
    """Draw a white A4-sized PNG: a large QR code of url, the title under it, then the url. With `zalo`
    (the bot's Zalo link, the guide's short code, the line saying to type it), a Zalo code stands beside."""
    title = unicodedata.normalize("NFC", " ".join(title.split()))
    text_width = PAGE_WIDTH - 2 * MARGIN
    for size in TITLE_SIZES:
        font = _font(size)
        lines = _wrap(title, font, text_width)
        if len(lines) <= TITLE_MAX_LINES:
            break
    else:  # too long even in the smallest size: keep what fits and mark the cut
        lines = lines[:TITLE_MAX_LINES]
        last = lines[-1]
        while last and font.getlength(last + "…") > text_width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"

    page = Image.new("RGB", (PAGE_WIDTH, PAGE_HEIGHT), "white")
    draw = ImageDraw.Draw(page)
    top = MARGIN // 2
    if zalo is not None:
        y = _zalo_codes(page, url, zalo, top)
    else:
        code = _qr_image(url)
        page.paste(code, ((PAGE_WIDTH - code.width) // 2, top))
        y = top + code.height + 20

    line_height = int(font.size * 1.3)
    for line in lines:
        draw.text((PAGE_WIDTH // 2, y), line, font=font, fill="black", anchor="ma")
        y += line_height

    small = _font(URL_SIZE, bold=False)
    draw.text((PAGE_WIDTH // 2, max(y + 30, PAGE_HEIGHT - MARGIN)), url, font=small, fill="#444444",
              anchor="md")

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    page.save(out, format="PNG", dpi=(DPI, DPI))
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qr", description="Print QR posters that open a guide in the bot.")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("guide_id", nargs="?", help="the guide to make a poster for")
    which.add_argument("--all", action="store_true", help="one poster per guide, into the folder -o")
    p.add_argument("-o", "--output", required=True, type=Path,
                   help="the PNG file to write (a folder with --all)")
    return p


def run(argv: list[str], content: Content, bot_username: str, zalo_link: str = "") -> int:
    """The `qr` command. Returns a process exit code: 0 done, 2 bad arguments or unknown guide. With
    `zalo_link` (ZALO_BOT_LINK) each poster also carries the Zalo code and the guide's short code to type."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or help already
        return exc.code if isinstance(exc.code, int) else 2

    if args.all:
        jobs = [(g, args.output / f"{g.id}.png") for g in content.guides.values()]
    else:
        guide = content.guides.get(args.guide_id)
        if guide is None:
            print(f"qr: no guide with id {args.guide_id!r}", file=sys.stderr)
            return 2
        out = args.output / f"{guide.id}.png" if args.output.is_dir() else args.output
        jobs = [(guide, out)]

    type_line = ""
    if zalo_link:
        from zoneinfo import ZoneInfo

        from bot.i18n import I18n

        type_line = I18n("vi", ZoneInfo("Asia/Ho_Chi_Minh")).get("vi").gettext("On Zalo, open the bot, then type:")
    for guide, out in jobs:
        zalo = (zalo_link, guide.id, type_line) if zalo_link else None
        print(make_poster(deep_link(bot_username, guide.id), guide.title.vi, out, zalo))
    return 0
