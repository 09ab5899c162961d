"""A crowd that taps, types and talks at random (seeded): typed choices, the ask wizard and the relay.

Residents, volunteers and an admin act in one shared bot: they press real buttons on their newest
screen and on older messages, forge callback data, type choices the way older people do ("2.", "số 3",
"２", "tiep", "huy", "5 sao", "⭐⭐⭐", labels without accents), write free text (accents or none, emoji,
5,000+ characters, other scripts, bare whitespace, control characters), send commands, photos, voice
notes, stickers, contacts and locations, reply to earlier messages, walk the ask wizard, claim, relay
both ways, resolve, rate, release, and let the clock run (the service's tick, never a sleep).

Checked as each message leaves the bot (the stand-in's fault hook and listener, against the database
at that moment) and after every step:
- no handler raised (the harness), and no message is empty or over Telegram's limits;
- whatever a person sends, the bot answers them;
- a relayed message starts with "💬 HT-…", names a claimed request, goes only to its resident or its
  holder at that moment, is labelled with the sender's role, and carries only what the sender wrote;
- words a person typed reach someone else only through the relay, or as the description of their own
  request on its card (or as the name a volunteer chose);
- after going back to the menu, a person's words are not passed on until they choose to write again
  (a reply to a relayed message, 💬 Reply) or the other side writes;
- under "which request is this for?", a typed number or code sends the waiting message there;
- a phone number reaches nobody but its owner and the holder of the request it was shared for;
- every help_requests row is in a valid state.
Seeded, so a failure replays exactly: the message names the seed and step. FUZZ_SEEDS=N adds N seeds
and FUZZ_TYPED_STEPS sets the steps per seed, for a longer hunt. Found and fixed so far: see
tests/handlers/test_typed_regressions.py.
"""

from __future__ import annotations

import json
import os
import random
import re
import string
import unicodedata

import pytest

from bot import help_requests
from bot.botapi_standin import Sent
from bot.data import requests as rdata
from bot.data import users
from bot.screens import MENU_WORDS, number, phrase
from bot.textnorm import fold
from tests import syncdb
from tests.conftest import ADMIN, Harness
from tests.handlers.test_requests import make_volunteer

RESIDENTS = (1101, 1102, 1103, 1104, 1105)
VOLUNTEERS = (2101, 2102, 2103, 2104)
PEOPLE = (*RESIDENTS, *VOLUNTEERS, ADMIN)
STEPS = int(os.environ.get("FUZZ_TYPED_STEPS", "1200"))
SEEDS = [11, 29, 47, 83, 131, *range(1000, 1000 + int(os.environ.get("FUZZ_SEEDS", "0")))]

TYPED = ["1", "2", "3", "4", "2.", "1.", "số 3", "so 2", "Số 1", "#2", "２", "１", "３", "7", "0", "99", "tiep",
         "Tiếp", "tiếp theo", "next", "Next", "quay lai", "Quay lại", "back", "huy", "Hủy", "hủy bỏ", "thoi", "ok",
         "OK", "co", "Có", "vâng", "khong", "không", "ko", "menu", "Menu", "trang chủ", "English", "english",
         "tieng viet", "Tiếng Việt", "5 sao", "3 sao", "1 sao", "⭐⭐⭐", "⭐⭐⭐⭐⭐", "⭐", "★★", "xong", "bo qua",
         "Bỏ qua", "khong biet", "không rõ", "goi dien cho toi", "nhan tin", "truc tiep", "den nha", "ben thanh",
         "Bến Thành", "tan dinh", "vneid", "VNeID", "cho toi gap nguoi that", "tôi muốn gặp tình nguyện viên",
         "tra loi", "lam lai", "lam tiep", "xac nhan", "gui so", "chi nhan tin", "da giai quyet", "tra lai",
         "huong dan", "tim kiem", "hoi tro giup", "diem ho tro", "ngon ngu", "cancel", "stop", "done", "skip"]
SENTENCES = ["Tôi không nhận được mã OTP khi đăng ký VNeID", "Cháu ơi bác không mở được ứng dụng",
             "Làm sao để thanh toán tiền điện", "Điện thoại của tôi bị khóa tài khoản ngân hàng",
             "cam on chau nhieu nhe", "bac da lam duoc roi", "Tôi đang ở nhà, chiều nay rảnh",
             "Mật khẩu mức 2 bị quên", "Ừ được rồi", "sao chưa ai trả lời vậy", "số điện thoại của tôi đổi rồi"]
SCRIPTS = ["مرحبا كيف حالك", "你好，我需要帮助", "ขอบคุณมาก", "नमस्ते मदद चाहिए", "សួស្តី", "Привет, помогите",
           "Z̸̧̛a̷̢͝l̵̨͘g̴̡̛o̶̢͠", "𝓣𝓮𝔁𝓽 𝓯𝓪𝓷𝓬𝔂", "ﾃｽﾄ　全角", "ا\u200fب\u202eج"]
WHITESPACE = [" ", "  ", "\n", "\t", "\u3000", " \n \t ", "\u200b", "\u00a0", "\u2028"]
CONTROL = "\x00\x01\x07\x1b\x7f\u200b\u200e\u200f\u202a\u202e\u2066\ufeff"
EMOJI = ["🙏", "😀", "👍", "❤️", "🙋‍♀️", "👨‍👩‍👧", "🇻🇳", "⭐", "💬", "✅"]
COMMANDS = ["/start", "/ask", "/myrequests", "/mine", "/menu", "/cancel", "/available", "/away", "/help",
            "/language", "/queue", "/volunteer", "/start vneid-install", "/ask now", "/cancel please"]
ADMIN_COMMANDS = ["/broadcast", "/queue", "/volunteers", "/cancel", "/menu"]
MARK = re.compile(r"zq\d{6}")
PHONE = re.compile(r"\+849\d{8}")
RELAY_LABEL = re.compile(r"💬 (HT-[0-9A-Z]{4}) · ")
VALID = ("open", "claimed", "resolved", "cancelled")
# Messages after which typing answers a conversation again (besides a relayed message itself). The
# prompts of /volunteer and of a rating are here too: answering one also forgets that the person had
# gone back to the menu (each person has one `awaiting` row), so the relay is as it was before.
RESUMING = ("✍ Type your message for request {code}. I will pass it on.",
            "🙋 Volunteer {name} is now helping you with request {code}.\n"
            "Their messages will come here. To answer, just type.",
            "An admin gave you this request:", "You claimed it. Thank you!",
            "🙋 Thank you for wanting to help as a volunteer (Tổ công nghệ số cộng đồng)!\n"
            "First, what name should residents see? Type your first name.",
            "Thank you for rating: {stars}\nWould you like to add a comment? Just type it, or tap Skip.")


def button_rows(msg: dict) -> list[dict]:
    return [b for row in msg.get("reply_markup", {}).get("inline_keyboard", []) for b in row if "callback_data" in b]


def no_accents(text: str) -> str:
    return " ".join(fold(w) for w in text.split())


class Crowd:
    """Plays everyone at once and watches what leaves the bot."""

    def __init__(self, bot: Harness, seed: int):
        self.bot, self.rng, self.seed = bot, random.Random(seed), seed
        self.sql = syncdb.connect(bot.svc.settings)
        self.step, self.actor = 0, 0
        self.buttons_only = self.replying = False  # a markup-only edit; a reply to a relayed message
        self.at_menu: set[int] = set()  # went back to the menu: their next words are not for the other side
        self.resuming = tuple(bot.svc.i18n.get(lang).gettext(msgid).split("{")[0]
                              for msgid in RESUMING for lang in ("vi", "en"))
        self.marks = 0
        self.marked: dict[str, int] = {}  # marker -> who typed it
        self.typed: dict[int, list[str]] = {uid: [] for uid in PEOPLE}  # texts and captions, as sent
        self.broken: list[str] = []
        self.kinds: dict[str, int] = {}
        self.relayed = self.picked = self.phones = 0
        bot.api.fault = self.outgoing
        bot.api.listeners.append(self.delivered)

    # --- watching what leaves -------------------------------------------------------------------
    def fail(self, what: str) -> None:
        self.broken.append(f"seed {self.seed} step {self.step} actor {self.actor}: {what}")

    def request(self, code: str) -> tuple | None:
        return self.sql.execute("SELECT id, resident_id, volunteer_id, status, phone FROM help_requests "
                                "WHERE code = ?", (code,)).fetchone()

    def outgoing(self, method: str, params: dict) -> None:
        """Before the stand-in answers: nothing empty, nothing over Telegram's limits."""
        self.buttons_only = method == "editMessageReplyMarkup"  # the text it reports was there already
        if method in ("sendMessage", "editMessageText"):
            text = str(params.get("text", ""))
            if not text.strip() or len(text) > 4096:
                self.fail(f"{method} of {len(text)} characters: {text[:80]!r}")
        elif method in ("sendPhoto", "copyMessage", "editMessageCaption", "sendDocument") and "caption" in params:
            if len(str(params["caption"])) > 1024:
                self.fail(f"{method} caption of {len(str(params['caption']))} characters")
        elif method == "answerCallbackQuery" and len(str(params.get("text", ""))) > 200:
            self.fail(f"alert of {len(str(params['text']))} characters")

    def delivered(self, e: Sent) -> None:
        if e.kind == "delete" or e.chat_id <= 0 or (e.kind == "edit" and self.buttons_only):
            return
        text = e.text or ""
        relay = RELAY_LABEL.match(text) if e.kind != "edit" else None
        if relay:
            self.check_relay(e, relay.group(1), text)
            self.at_menu -= {e.chat_id, self.actor}  # both are in the conversation again
        elif text.startswith(self.resuming):
            self.at_menu.discard(e.chat_id)
        for mark in set(MARK.findall(text)):
            author = self.marked.get(mark)
            if author is not None and author != e.chat_id and not relay and not self.own_card(text, author) \
                    and not self.own_name(mark, author):
                self.fail(f"{author}'s words reached {e.chat_id} outside the relay: {text[:120]!r}")
        for phone in set(PHONE.findall(text)):
            if int(phone[4:]) == e.chat_id:
                continue  # their own number
            rows = self.sql.execute("SELECT code FROM help_requests WHERE phone = ? AND status = 'claimed' "
                                    "AND volunteer_id = ?", (phone, e.chat_id)).fetchall()
            self.phones += 1
            if not rows:
                self.fail(f"{phone} reached {e.chat_id}, who holds no request it was shared for: {text[:120]!r}")

    def own_card(self, text: str, author: int) -> bool:
        """The author's words as the description of their own request (an offer, a card, the admins' alert)."""
        return any((row := self.request(code)) and row[1] == author for code in re.findall(r"HT-[0-9A-Z]{4}", text))

    def own_name(self, mark: str, author: int) -> bool:
        """A volunteer's words as the name they chose after /volunteer, which residents are meant to see."""
        row = self.sql.execute("SELECT display_name FROM volunteers WHERE user_id = ?", (author,)).fetchone()
        return row is not None and mark in row[0]

    def check_relay(self, e: Sent, code: str, text: str) -> None:
        self.relayed += 1
        row = self.request(code)
        if row is None or row[3] != "claimed":
            self.fail(f"relay for {code} ({row and row[3]}) reached {e.chat_id}")
            return
        _id, resident, holder, _status, _phone = row
        if e.chat_id not in (resident, holder) or self.actor not in (resident, holder) or self.actor == e.chat_id:
            self.fail(f"relay for {code} (resident {resident}, holder {holder}) from {self.actor} "
                      f"reached {e.chat_id}")
            return
        if self.actor in self.at_menu and not self.replying:
            self.fail(f"{self.actor} went back to the menu, yet their words went to {e.chat_id} as a message")
        locale = self.sql.execute("SELECT locale FROM users WHERE id = ?", (e.chat_id,)).fetchone()[0]
        t = self.bot.svc.i18n.get(locale)
        label = (t.gettext("💬 {code} · Volunteer {name}:").split("{name}")[0] if e.chat_id == resident
                 else t.gettext("💬 {code} · Resident:")).format(code=code)
        if not text.startswith(label):
            self.fail(f"relay to {e.chat_id} labelled {text[:60]!r}, expected {label!r}")
        body = text.partition("\n")[2].strip()
        if body and not any(body in said for said in self.typed[self.actor][-60:]):
            self.fail(f"relay to {e.chat_id} carries words {self.actor} did not write: {body[:80]!r}")

    def check_rows(self) -> None:
        bad = self.sql.execute(
            "SELECT code, status, volunteer_id FROM help_requests WHERE status NOT IN (?, ?, ?, ?) "
            "OR (status = 'claimed' AND volunteer_id IS NULL) OR (status = 'open' AND volunteer_id IS NOT NULL)",
            VALID).fetchall()
        if bad:
            self.fail(f"help_requests in an invalid state: {bad}")

    # --- what people type -----------------------------------------------------------------------
    def mark(self, uid: int, text: str) -> str:
        """Tag some free text with a unique word, to follow where it goes (not the admin's: a campaign
        is meant to reach everyone)."""
        if self.rng.random() < 0.3 or uid == ADMIN:
            return text
        self.marks += 1
        mark = f"zq{(self.seed * 7919 + self.marks) % 1_000_000:06d}"
        self.marked[mark] = uid
        where = self.rng.choice(["start", "end", "middle"])
        if where == "start":
            return f"{mark} {text}"
        if where == "end":
            return f"{text} {mark}"
        cut = len(text) // 2
        return f"{text[:cut]} {mark} {text[cut:]}"

    def free_text(self, uid: int) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.08:  # a letter to the volunteer, longer than one message
            words = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(120, 260)))
            text = words if rng.random() < 0.7 else "".join(rng.choice(string.ascii_letters) for _ in range(5100))
            return self.mark(uid, text[: rng.randint(4097, 6000)] if len(text) > 4097 else text)
        if roll < 0.15:
            return rng.choice(WHITESPACE) * rng.randint(1, 3)
        if roll < 0.22:
            return "".join(rng.choice(CONTROL + "abc đ ") for _ in range(rng.randint(1, 12)))
        if roll < 0.32:
            return self.mark(uid, rng.choice(SCRIPTS))
        if roll < 0.42:
            return self.mark(uid, " ".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 5))))
        sentence = rng.choice(SENTENCES)
        if rng.random() < 0.4:
            sentence = no_accents(sentence)
        if rng.random() < 0.3:
            sentence = unicodedata.normalize("NFD", sentence)
        if rng.random() < 0.2:
            sentence += " " + rng.choice(EMOJI)
        return self.mark(uid, sentence)

    def typed_choice(self, uid: int) -> str:
        """A choice typed as an older person would: a number, a word, or the label of a button in view."""
        rng = self.rng
        msg = self.bot.driver.latest_with_buttons(uid)
        if msg is not None and rng.random() < 0.4:
            labels = [b["text"] for b in button_rows(msg)]
            if labels:
                label = rng.choice(labels)
                return rng.choice([label, no_accents(label), label.lower(), "".join(
                    ch for ch in label if ch.isalnum() or ch == " ").strip() or label, f"số {labels.index(label) + 1}"])
        return rng.choice(TYPED)

    # --- acting -----------------------------------------------------------------------------------
    def answered(self, uid: int, events: list[Sent], what: str) -> list[Sent]:
        """Whatever a person sends, the bot answers them: nobody is left wondering whether it arrived."""
        if not any(e.chat_id == uid for e in events):
            self.fail(f"no answer to {uid}'s {what}")
        return events

    def which_request(self, uid: int, text: str) -> int | None:
        """The request a typed number or code picks under "which request is this for?", when that question
        is on screen, a message waits for it, nothing else takes the text, and the conversation is still on."""
        if self.sql.execute("SELECT 1 FROM request_drafts WHERE user_id = ?", (uid,)).fetchone():
            return None
        row = self.sql.execute("SELECT s.choices FROM screens s JOIN awaiting a ON a.user_id = s.user_id "
                               "WHERE s.user_id = ? AND a.kind = 'relay' AND a.unsent IS NOT NULL", (uid,)).fetchone()
        choices = [(label, data) for label, data in json.loads(row[0])] if row else []
        if not choices or not all(data.startswith("rq:to:") for _label, data in choices):
            return None
        n = number(text)
        picked = ([data for label, data in choices if label.startswith(f"{text.strip().upper()} ")]
                  or ([choices[n - 1][1]] if n is not None and 1 <= n <= len(choices) else []))
        if not picked:
            return None
        rid = int(picked[0].rsplit(":", 1)[1])
        party = self.sql.execute("SELECT 1 FROM help_requests WHERE id = ? AND status = 'claimed' AND "
                                 "(resident_id = ? OR volunteer_id = ?)", (rid, uid, uid)).fetchone()
        return rid if party else None

    def menu_shown(self, uid: int, events: list[Sent]) -> None:
        if any(e.chat_id == uid and any(b.data == "m:g" for b in e.flat_buttons) for e in events):
            self.at_menu.add(uid)

    async def say(self, uid: int, text: str, reply_to: int | None = None) -> list[Sent]:
        picked = None if reply_to else self.which_request(uid, text)
        self.typed[uid].append(text)
        events = self.answered(uid, await self.bot.driver.send(uid, text, reply_to=reply_to), f"text {text[:40]!r}")
        if text.startswith("/menu") or (not text.startswith("/") and phrase(text) in MENU_WORDS):
            self.menu_shown(uid, events)
        self.picked += picked is not None
        asked_first = any(e.chat_id == uid and any(b.data.startswith("rq:sec:") for b in e.flat_buttons if b.data)
                          for e in events)  # a kept message that looks like a code: the sender is asked first
        if picked is not None and not asked_first and not any(RELAY_LABEL.match(e.text) and e.chat_id != uid
                                                               for e in events):
            self.fail(f"{text!r} typed under \"which request?\" did not send the waiting message")
        return events

    async def send_kind(self, uid: int, kind: str, caption: str | None = None) -> list[Sent]:
        if caption:
            self.typed[uid].append(caption)
        return self.answered(uid, await self.bot.driver.send_kind(uid, kind, caption=caption), kind)

    async def press(self, uid: int, data: str, message_id: int) -> list[Sent]:
        if data.startswith(("rq:msg:", "rq:to:", "rq:claim:")):
            self.at_menu.discard(uid)  # they chose to write (or took a request: its conversation)
        events = await self.bot.driver.press_data(uid, data, message_id)
        if data in ("m", "rq:stop"):
            self.menu_shown(uid, events)
        return events

    async def press_newest(self, uid: int, prefix: str = "") -> bool:
        msg = self.bot.driver.latest_with_buttons(uid)
        buttons = [b for b in button_rows(msg) if b["callback_data"].startswith(prefix)] if msg else []
        if not buttons:
            return False
        await self.press(uid, self.rng.choice(buttons)["callback_data"], msg["message_id"])
        return True

    async def press_any(self, uid: int, prefix: str) -> bool:
        """A real button anywhere in the chat whose data starts with `prefix` (an offer, a card)."""
        found = [(m["message_id"], b["callback_data"]) for m in list(self.bot.api.messages.get(uid, {}).values())
                 for b in button_rows(m) if b["callback_data"].startswith(prefix)]
        if not found:
            return False
        mid, data = self.rng.choice(found[-8:])
        await self.press(uid, data, mid)
        return True

    def requests(self, sql: str, *params) -> list[tuple]:
        return self.sql.execute(f"SELECT id, code, resident_id, volunteer_id, status FROM help_requests {sql}",
                                params).fetchall()

    async def one(self) -> None:
        rng, bot = self.rng, self.bot
        self.step += 1
        self.replying = False
        uid = self.actor = rng.choice(PEOPLE)
        kind = rng.choices(
            ["newest", "older", "forged", "typed", "free", "command", "media", "reply", "wizard", "claim", "relay",
             "holder", "resident", "tick"],
            weights=[14, 5, 5, 14, 8, 6, 5, 5, 16, 6, 10, 5, 4, 2])[0]
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        bot.clock.advance(rng.uniform(0.5, 20))
        if kind == "newest":
            if not await self.press_newest(uid):
                await self.say(uid, "/start")
        elif kind == "older":
            chat = [m for m in bot.api.messages.get(uid, {}).values() if button_rows(m)]
            if chat:
                msg = rng.choice(chat)
                await self.press(uid, rng.choice(button_rows(msg))["callback_data"], msg["message_id"])
        elif kind == "forged":
            await self.forged(uid)
        elif kind == "typed":
            await self.say(uid, self.typed_choice(uid))
        elif kind == "free":
            await self.say(uid, self.free_text(uid))
        elif kind == "command":
            await self.say(uid, rng.choice(ADMIN_COMMANDS if uid == ADMIN and rng.random() < 0.6 else COMMANDS))
        elif kind == "media":
            await self.media(uid)
        elif kind == "reply":
            await self.reply(uid)
        elif kind == "wizard":
            resident = rng.choice(VOLUNTEERS) if rng.random() < 0.25 else rng.choice(RESIDENTS)  # anyone may ask
            for _ in range(rng.randint(1, 4)):
                await self.wizard(resident)
        elif kind == "claim":
            await self.claim(rng.choice(VOLUNTEERS))
        elif kind == "relay":
            await self.relay()
        elif kind == "holder":
            await self.holder(rng.choice(VOLUNTEERS))
        elif kind == "resident":
            await self.resident(rng.choice(RESIDENTS))
        else:
            bot.clock.advance(rng.choice([60, 15 * 60, 31 * 60, 2 * 3600, 25 * 3600]))
            await help_requests.tick(bot.svc)
        self.check_rows()

    async def forged(self, uid: int) -> None:
        rng = self.rng
        ids = [r[0] for r in self.requests("ORDER BY id DESC LIMIT 6")] or [1]
        rid = rng.choice([*ids, 0, 999_999, -1])
        data = rng.choice([f"rq:claim:{rid}", f"rq:msg:{rid}", f"rq:done:{rid}", f"rq:rel:{rid}",
                           f"rq:relr:{rid}:busy", f"rq:relr:{rid}:nope", f"rq:card:{rid}", f"rq:inp:{rid}",
                           f"rq:rate:{rid}:{rng.randint(0, 6)}", f"rq:reopen:{rid}", f"rq:cancel:{rid}", "rq:stop",
                           f"rq:to:{rid}", f"rq:assign:{rid}", f"rq:asg:{rid}:{rng.choice(VOLUNTEERS)}", "aw:ok",
                           "aw:x", "aw:go", "aw:new", "aw:t:vneid", "aw:w:-", "aw:w:ben-thanh", "aw:m:phone",
                           "aw:c:phone", "aw:c:chat", "m", "m:h", "m:l", "lang:en", "lang:vi", "vol:wd",
                           f"vadm:pause:{rng.choice(VOLUNTEERS)}", f"vadm:resume:{rng.choice(VOLUNTEERS)}",
                           "rq:msg:99999999999999999999999", "rq:to:", "", "\x00", "rq:rate:1:⭐"])
        chat = list(self.bot.api.messages.get(uid, {}))
        await self.press(uid, data, rng.choice([1, 999_999, *chat[-4:]]))

    async def media(self, uid: int) -> None:
        rng, driver = self.rng, self.bot.driver
        kind = rng.choice(["photo", "photo", "voice", "sticker", "contact", "contact", "location", "foreign"])
        if kind in ("photo", "voice", "sticker"):
            caption = self.free_text(uid)[:1100] if kind == "photo" and rng.random() < 0.5 else None
            await self.send_kind(uid, kind, caption=caption)
        elif kind == "contact":
            await self.send_kind(uid, "contact")
        elif kind == "foreign":  # someone else's card: never taken for the resident's own number
            other = rng.choice([u for u in PEOPLE if u != uid])
            msg = driver._message(uid, contact={"phone_number": f"+849{other:08d}", "first_name": "Ai đó",
                                                "user_id": other})
            self.answered(uid, await driver.feed({"message": msg}), "contact card")
        else:
            spot = {"lat": rng.uniform(10.7, 10.8), "lon": rng.uniform(106.6, 106.7)}
            self.answered(uid, await driver.send_kind(uid, "location", **spot), "location")

    async def reply(self, uid: int) -> None:
        """A reply to an earlier message in the chat: most often a relayed one."""
        rng = self.rng
        chat = list(self.bot.api.messages.get(uid, {}).values())
        if not chat:
            return
        relayed = [m for m in chat if RELAY_LABEL.match(m.get("text") or m.get("caption") or "")]
        target = rng.choice(relayed[-5:] if relayed and rng.random() < 0.7 else chat)
        self.replying = target in relayed
        if rng.random() < 0.2:
            caption = self.free_text(uid)[:900]
            self.typed[uid].append(caption)
            msg = self.bot.driver._message(uid, photo=[{"file_id": "p", "file_unique_id": "p", "width": 9,
                                                        "height": 9}], caption=caption,
                                           reply_to_message=target)
            self.answered(uid, await self.bot.driver.feed({"message": msg}), "photo in reply")
        else:
            await self.say(uid, rng.choice([self.free_text(uid), self.typed_choice(uid)]),
                           reply_to=target["message_id"])

    async def wizard(self, uid: int) -> None:
        """One step of the ask wizard, answered by tapping or typing (sometimes wrongly)."""
        rng, svc = self.rng, self.bot.svc
        self.actor = uid
        draft = await rdata.get_draft(svc.db, uid)
        if draft is None:
            if rng.random() < 0.7:
                await self.say(uid, rng.choice(["/ask", "/ask", "hoi tro giup", "cho toi gap nguoi that"]))
            else:
                await self.press(uid, "m:h", 1)
            return
        tap = rng.random() < 0.5
        if rng.random() < 0.12:  # something else in the middle of the wizard
            await self.say(uid, rng.choice([*TYPED, self.free_text(uid)]))
            return
        if draft.step == "topic":
            if tap and await self.press_newest(uid, "aw:t:"):
                return
            await self.say(uid, rng.choice(["vneid", "VNeID", "1", "số 1", "２", "thue"]))
        elif draft.step == "description":
            roll = rng.random()
            if roll < 0.15:
                await self.send_kind(uid, rng.choice(["photo", "voice"]))
            else:
                await self.say(uid, self.free_text(uid))
        elif draft.step == "ward":
            if tap and await self.press_newest(uid, "aw:w:"):
                return
            await self.say(uid, rng.choice(["ben thanh", "Bến Thành", "phuong ben thanh", "khong biet", "1", "2.",
                                            "tan dinh", "Không rõ"]))
        elif draft.step == "mode":
            if tap and await self.press_newest(uid, "aw:m:"):
                return
            await self.say(uid, rng.choice(["nhan tin", "goi dien cho toi", "truc tiep", "den nha", "1", "số 2",
                                            "tin nhắn"]))
        elif draft.step == "contact":
            if tap and await self.press_newest(uid, "aw:c:"):
                return
            await self.say(uid, rng.choice(["chi nhan tin", "gui so", "so dien thoai", "1", "2"]))
        elif draft.step == "phone":
            roll = rng.random()
            if roll < 0.55:
                await self.send_kind(uid, "contact")
            elif roll < 0.75:
                await self.say(uid, rng.choice(["💬 Chỉ nhắn tin qua Trợ lý số", "chi nhan tin qua tro ly so",
                                                "✖ Hủy", "huy"]))
            else:
                await self.say(uid, rng.choice(["0912345678", "số tôi là 0909", *TYPED]))
        else:  # confirm
            if tap and await self.press_newest(uid, "aw:ok"):
                return
            await self.say(uid, rng.choice(["ok", "co", "xac nhan", "Xác nhận", "1", "gui di", "đồng ý"]))

    async def claim(self, uid: int) -> None:
        self.actor = uid
        if self.rng.random() < 0.7 and await self.press_any(uid, "rq:claim:"):
            return
        waiting = self.requests("WHERE status = 'open' ORDER BY id")
        if waiting:
            await self.press(uid, f"rq:claim:{self.rng.choice(waiting)[0]}", 1)

    async def relay(self) -> None:
        """Someone in a conversation writes to the other side: typed, as a reply, or with a photo."""
        rng = self.rng
        talking = self.requests("WHERE status = 'claimed' ORDER BY id")
        if not talking:
            await self.claim(rng.choice(VOLUNTEERS))
            return
        _id, _code, resident, holder, _status = rng.choice(talking)
        uid = self.actor = rng.choice([resident, holder])
        busy = [v for v in {r[3] for r in talking} if sum(r[3] == v for r in talking) > 1]
        if busy and rng.random() < 0.4:  # two residents write to one volunteer, who then answers one of them
            uid = rng.choice(busy)
            for r in rng.sample([r for r in talking if r[3] == uid], 2):
                self.actor = r[2]
                await self.say(r[2], self.free_text(r[2]))
            self.actor = uid
        roll = rng.random()
        if roll < 0.15:
            caption = self.free_text(uid)[:rng.choice([200, 1100])] if rng.random() < 0.6 else None
            await self.send_kind(uid, rng.choice(["photo", "voice"]), caption=caption)
        elif roll < 0.25:
            await self.reply(uid)
        else:
            events = await self.say(uid, self.free_text(uid))
            asked = [b.data for e in events if e.chat_id == uid for b in e.flat_buttons if b.data.startswith("rq:to:")]
            if asked and rng.random() < 0.7:  # "which request is this for?", answered by typing
                n = rng.randint(1, len(asked) + 1)
                code = self.sql.execute("SELECT code FROM help_requests WHERE id = ?",
                                        (int(asked[min(n, len(asked)) - 1].rsplit(":", 1)[1]),)).fetchone()[0]
                await self.say(uid, rng.choice([str(n), f"số {n}", code, code.lower(), f"{n}."]))

    async def holder(self, uid: int) -> None:
        """A volunteer works on what they hold: a real button mostly, or the same typed."""
        rng = self.rng
        self.actor = uid
        held = self.requests("WHERE status = 'claimed' AND volunteer_id = ? ORDER BY id", uid)
        if not held or rng.random() < 0.2:
            await self.say(uid, rng.choice(["/mine", "/available", "/away", "/available"]))
            return
        rid = rng.choice(held)[0]
        roll = rng.random()
        if roll < 0.3:
            await self.press(uid, f"rq:done:{rid}", 1)
        elif roll < 0.45:
            await self.press(uid, f"rq:rel:{rid}", 1)
            if rng.random() < 0.7:
                await self.press_newest(uid, "rq:relr:")
            else:
                await self.say(uid, self.typed_choice(uid))  # a reason typed: "1", "bận", or anything
        elif roll < 0.55:
            await self.press(uid, f"rq:inp:{rid}", 1)
        elif roll < 0.7:
            await self.press_any(uid, "rq:")
        else:
            await self.say(uid, rng.choice(["da giai quyet", "Đã giải quyết", "tra lai", "✅ Đã giải quyết",
                                            "tra loi", "1", "2", "xong"]))

    async def resident(self, uid: int) -> None:
        """A resident follows up: /myrequests, rating (tapped or typed), a comment, reopening, cancelling."""
        rng = self.rng
        self.actor = uid
        roll = rng.random()
        if roll < 0.3:
            await self.say(uid, "/myrequests")
            if rng.random() < 0.5:
                await self.press_newest(uid, "rq:cancel:") or await self.say(uid, self.typed_choice(uid))
        elif roll < 0.7:
            if rng.random() < 0.5 and await self.press_any(uid, "rq:rate:"):
                return
            await self.say(uid, rng.choice(["5 sao", "⭐⭐⭐", "4 sao", "⭐⭐⭐⭐⭐", "3", "1 sao", "★★★★", "5"]))
            if rng.random() < 0.5:
                await self.say(uid, rng.choice([self.free_text(uid), "bo qua", "Bỏ qua", "skip"]))
        else:
            await self.press_any(uid, rng.choice(["rq:reopen:", "rq:rate:", "rq:msg:", "rq:stop"]))


async def begin(bot: Harness) -> None:
    for n, v in enumerate(VOLUNTEERS):
        await make_volunteer(bot, v, wards=("ben-thanh",) if n % 2 else ("ben-thanh", "tan-dinh"))
    for uid in (*RESIDENTS, ADMIN):
        await bot.send(uid, "/start")
        await users.set_locale(bot.svc.db, uid, "en" if uid == RESIDENTS[-1] else "vi")  # one reads English
    await users.set_locale(bot.svc.db, VOLUNTEERS[-1], "en")


@pytest.mark.parametrize("seed", SEEDS)
async def test_a_crowd_taps_types_and_talks(bot: Harness, seed: int):
    await begin(bot)
    crowd = Crowd(bot, seed)
    try:
        for _ in range(STEPS):
            await crowd.one()
            assert not crowd.broken, "\n".join(crowd.broken[:5])
            assert bot.errors == [], f"seed {seed} step {crowd.step}: {bot.errors[0]!r}"
        await bot.svc.sender.wait_idle(5)
        states = dict(crowd.sql.execute("SELECT status, COUNT(*) FROM help_requests GROUP BY status").fetchall())
    finally:
        bot.api.fault = None
        bot.api.listeners.remove(crowd.delivered)
        crowd.sql.close()
    assert not crowd.broken and bot.errors == [], (crowd.broken[:5], bot.errors[:5])
    # the run reached the deep states it is meant to test
    assert crowd.relayed > 20 and states.get("claimed", 0) + states.get("resolved", 0) >= 2, (crowd.relayed, states)
    assert all(crowd.kinds.get(k, 0) > 10 for k in crowd.kinds), crowd.kinds
