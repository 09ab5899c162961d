"""bot/actions.py: every action packs within Telegram's 64 bytes and parses back to itself; forged or
malformed data parses to None; and nothing outside bot/actions.py builds or splits callback data by hand."""

from __future__ import annotations

import ast
import itertools
import re
import typing
from dataclasses import fields
from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest

from bot import actions as A
from bot.config import LOCALES
from bot.content import ID_RE, MAX_STEPS
from bot.help_requests import MODES, RELEASE_REASONS
from bot.volunteers import DECISIONS, HOURS

ROOT = Path(__file__).resolve().parents[1]
ACTIONS = sorted((v for v in vars(A).values() if isinstance(v, type) and issubclass(v, A.Action) and v is not A.Action),
                 key=lambda cls: cls.__name__)
TOKEN_40 = ("Ab9_-" * 8)[:40]


def kinds(cls: type[A.Action]) -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def samples(cls: type[A.Action], token: str, number: int) -> list[A.Action]:
    """Every combination of the class's literal values, with `token` and `number` in the other fields."""
    choices = []
    for kind in kinds(cls).values():
        if kind is int:
            choices.append([number])
        elif get_origin(kind) is Literal:
            choices.append(list(get_args(kind)))
        else:
            choices.append([token])
    names = list(kinds(cls))
    return [cls(**dict(zip(names, combo, strict=True))) for combo in itertools.product(*choices)]


def test_every_action_is_declared_and_registered():
    assert len(ACTIONS) >= 50
    for cls in ACTIONS:
        assert cls.fmt and cls.__dataclass_params__.frozen, cls
    assert len({cls.fmt for cls in ACTIONS}) == len(ACTIONS)


@pytest.mark.parametrize("cls", ACTIONS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize(("token", "number"), [(TOKEN_40, A.MAX_ID), ("x", 0), ("vneid-install", 12)])
def test_round_trip_within_64_bytes(cls, token, number):
    for action in samples(cls, token, number):
        data = action.pack()
        assert len(data.encode()) <= A.MAX_BYTES, data
        assert A.parse(data) == action and type(A.parse(data)) is cls, data
        assert cls.unpack(data) == action and cls.filter(data) and A.any_of(cls)(data)
        assert A.family(cls)(data)


@pytest.mark.parametrize("cls", [cls for cls in ACTIONS if str in kinds(cls).values()], ids=lambda cls: cls.__name__)
def test_the_longest_content_id_fits_every_action_that_carries_one(cls):
    longest = "a" * 48
    assert ID_RE.match(longest) and not ID_RE.match(longest + "a")
    for action in samples(cls, longest, 99 if cls is A.Category else MAX_STEPS):
        assert A.parse(action.pack()) == action


def test_wire_formats_are_unchanged():
    """Tests, old messages still on people's phones and stored screens carry these exact strings."""
    assert [A.Home().pack(), A.Menu("g").pack(), A.SetLanguageWelcome("en").pack()] == ["m", "m:g", "lang:en:w"]
    assert A.Category("vneid", 2).pack() == "cat:vneid:2"
    assert [A.GuideOpen("a").pack(), A.GuideStep("a", 3).pack(), A.GuideDone("a").pack()] == [
        "g:a:open", "g:a:3", "g:a:done"]
    assert [A.GuideFeedback("a", "1").pack(), A.AskAbout("a").pack()] == ["fb:a:1", "ask:a"]
    assert [A.PointsNear().pack(), A.PointsInWard("ben-thanh").pack()] == ["pts:near", "pts:ben-thanh"]
    assert A.Claim(12).pack() == "rq:claim:12" and A.ReleaseBecause(1, "busy").pack() == "rq:relr:1:busy"
    assert A.Rate(7, "5").pack() == "rq:rate:7:5" and A.AssignTo(3, 9001).pack() == "rq:asg:3:9001"
    assert [A.AssignList(3).pack(), A.StopRelay().pack(), A.RelayTo(4).pack()] == [
        "rq:assign:3", "rq:stop", "rq:to:4"]
    assert [A.VolunteerWard("x").pack(), A.VolunteerWardsDone().pack(), A.VolunteerHours("any").pack()] == [
        "vol:w:x", "vol:wd", "vol:h:any"]
    assert A.Decide("ok", 1).pack() == "vadm:ok:1" and A.CampaignControl("pause", 5).pack() == "cmp:pause:5"
    assert [A.BroadcastAudience("all").pack(), A.BroadcastWard(0).pack(), A.BroadcastSend().pack()] == [
        "bc:aud:all", "bc:w:0", "bc:send"]
    assert A.PrivacyChoice("delok").pack() == "pv:delok" and A.DraftWard("-").pack() == "aw:w:-"


def test_literals_match_what_the_services_offer():
    """A literal is the whole list of valid values: the services' choices must all be packable."""
    def literal(cls, name):
        return set(get_args(kinds(cls)[name]))

    assert literal(A.SetLanguage, "lang") == literal(A.SetLanguageWelcome, "lang") == set(LOCALES)
    assert literal(A.BroadcastLanguage, "lang") == set(LOCALES)
    assert literal(A.VolunteerHours, "hours") == set(HOURS)
    assert literal(A.Decide, "decision") == set(DECISIONS)
    assert literal(A.DraftMode, "mode") == set(MODES)
    assert literal(A.ReleaseBecause, "reason") == set(RELEASE_REASONS)


FORGED = [
    # a value outside a literal
    "lang:fr", "lang:vi:x", "m:x", "m:G", "rq:rate:1:6", "rq:rate:1:0", "rq:relr:1:evil", "fb:vneid-install:7",
    "vadm:evil:1", "cmp:stop:1", "bc:aud:nobody", "bc:l:fr", "bc:mode:two", "pv:zzz", "vol:h:never", "aw:m:car",
    "aw:c:fax",
    # digits that are not ASCII digits, and numbers that are not ids
    "rq:claim:²", "rq:claim:١٢", "cat:vneid:٣", "g:vneid-install:１", "rq:asg:1:²", "bc:w:⁵", "rq:claim:1.0",
    "rq:claim:-1", "g:vneid-install:-1", "bc:w:-1", "rq:asg:-1:2", "vadm:ok:-5", "rq:claim:+1", "rq:claim:0x1",
    f"rq:claim:{A.MAX_ID + 1}", f"rq:claim:{2**64}", "rq:claim:" + "9" * 19, "rq:claim:" + "1" * 20,
    f"rq:asg:1:{A.MAX_ID + 1}", f"cmp:pause:{A.MAX_ID + 1}",
    # too long, even when every field would be valid
    "cat:" + "a" * 48 + ":" + "1" * 12, "pts:" + "a" * 61, "rq:claim:1" + " " * 60,
    # extra or missing fields
    "rq:claim", "rq:claim:", "rq:claim:1:2", "rq:asg:1", "rq:asg:1:2:3", "m:g:x", "m:", "mm", "aw:ok:1",
    "rq:stop:1", "g:vneid", "g:vneid:", "cat:vneid", "cat::0", "vadm:ok", "vadm:ok:1:1", "pts:", "ask:", "g",
    "rq::1", ":", "::", "rq:rate:1",
    # not tokens, not the right case, stray characters
    "pts:ben thanh", "pts:bến-thành", "g:../etc:open", "pts:a/b", "ask:a:b", "aw:t:", "RQ:claim:1", "Rq:Claim:1",
    "rq:claim:1\n", " rq:claim:1", "rq:claim: 1", "rq:claim:1 ", "rq:claim:\x00", "\ufeffrq:claim:1",
    "rq:claim:\ud800", "zzz", "",
]


@pytest.mark.parametrize("data", FORGED)
def test_forged_or_malformed_data_parses_to_none(data):
    assert A.parse(data) is None
    assert not any(cls.filter(data) for cls in ACTIONS if len(data.encode(errors="surrogatepass")) <= A.MAX_BYTES)


@pytest.mark.parametrize("data", [None, 12, b"rq:claim:1", ["rq:claim:1"], object()])
def test_what_is_not_a_string_parses_to_none(data):
    assert A.parse(data) is None
    assert not A.Claim.filter(data) and not A.any_of(A.Claim)(data) and not A.family(A.Claim)(data)
    assert not A.exactly(A.Home())(data)


def test_exactly_64_bytes_is_still_accepted():
    data = "cat:" + "a" * 48 + ":" + "1" * 11
    assert len(data) == 64 and A.parse(data) == A.Category("a" * 48, 11111111111)


def test_pack_refuses_what_would_not_read_back():
    for bad in (A.Claim(-1), A.Claim(A.MAX_ID + 1), A.PointsInWard("bến"), A.PointsInWard(""), A.DraftTopic("a b"),
                A.Category("a" * 49, 0), A.Category("a" * 48, A.MAX_ID), A.Rate(1, "6"), A.SetLanguage("fr"),
                A.PointsInWard("near")):  # "pts:near" reads back as PointsNear
        with pytest.raises(ValueError):
            bad.pack()


def test_family_catches_forged_data_of_that_kind_only():
    assigning = A.family(A.AssignList, A.AssignTo)
    assert assigning("rq:assign:x") and assigning("rq:asg:1:evil") and assigning("rq:asg:")
    assert not assigning("rq:claim:1") and not assigning("rq:assignx") and not assigning("zrq:asg:1")
    broadcast = A.family(A.BroadcastNext)
    assert broadcast("bc:zzz") and broadcast("bc:aud:all") and not broadcast("bcx") and not broadcast("cmp:pause:1")
    assert A.exactly(A.Menu("g"))("m:g") and not A.exactly(A.Menu("g"))("m:gx") and not A.exactly(A.Menu("g"))("m")


# --- nobody builds or splits callback data by hand ------------------------------------------------
NAMESPACES = sorted({cls.fmt.split(":")[0] for cls in ACTIONS})
HAND_BUILT = re.compile(rf"\^?(?:{'|'.join(map(re.escape, NAMESPACES))}):")  # "rq:…", f"g:{…}", r"^pts:"
FIELDLESS = {cls().pack() for cls in ACTIONS if not fields(cls)}  # "m", "aw:ok", "rq:stop", …


def sources() -> list[Path]:
    files = sorted(p for folder in ("bot", "handlers") for p in (ROOT / folder).rglob("*.py"))
    return [p for p in files if p != ROOT / "bot" / "actions.py"]


def docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def hand_built(source: str, name: str) -> list[str]:
    """String literals that look like callback data, and callback data read other than by A.parse."""
    tree = ast.parse(source)
    skip, problems = docstrings(tree), []
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        where = f"{name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            text = str(node.values[0].value)
            if HAND_BUILT.match(text):
                problems.append(f"{where}: f-string {text!r}…")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if isinstance(parents.get(id(node)), ast.JoinedStr):
                continue
            text = node.value
            if HAND_BUILT.match(text) or text in FIELDLESS or text.strip("^$") in FIELDLESS:
                problems.append(f"{where}: {text!r}")
        elif isinstance(node, ast.Attribute) and node.attr == "data" and (
                (isinstance(node.value, ast.Attribute) and node.value.attr == "callback_query")
                or (isinstance(node.value, ast.Name) and node.value.id == "query")):
            parent = parents.get(id(node))
            parsed = isinstance(parent, ast.Call) and ast.unparse(parent.func) in ("A.parse", "parse")
            checked_empty = isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not)
            if not (parsed or checked_empty):
                problems.append(f"{where}: callback data read by hand: {ast.unparse(parent or node)}")
    return problems


def test_the_scanner_finds_hand_built_data():
    code = ('x = f"rq:claim:{1}"\ny = "m:g"\nz = r"^pts:"\nw = "m"\nv = "aw:ok"\nu = query.data.split(":")\n'
            't = update.callback_query.data[3:]\n'
            'def f():\n    """rq:claim:ID is fine in a docstring."""\n'
            '    return A.parse(query.data), not update.callback_query.data, "menu", "g", f"{x}:1", "%H:%M"\n')
    found = hand_built(code, "sample.py")
    assert sorted(line.split(":")[1] for line in found) == ["1", "2", "3", "4", "5", "6", "7"], found


def test_nothing_outside_bot_actions_builds_or_splits_callback_data():
    assert len(sources()) > 30
    problems = [problem for path in sources()
                for problem in hand_built(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not problems, "build callback data with bot/actions.py (A.X(...).pack(), A.parse):\n" + "\n".join(problems)
