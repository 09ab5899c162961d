"""Which free-text messages ask for a person rather than a guide, in both directions."""

import tomllib
import unicodedata

import pytest

from bot.intents import wants_human
from tests.conftest import ROOT

ASKS_FOR_A_PERSON = [
    "cho toi gap nguoi that", "cho tôi gặp người thật", "Cho tôi nói chuyện với người thật ạ",
    "CHO TOI GAP NGUOI THAT!!!", "nguoithat", "Tôi cần gặp người thật", "cho toi gap nguoi",
    "co ai giup toi khong", "có ai giúp tôi không", "có ai không", "ai đó giúp tôi với",
    "goi dien cho toi", "gọi điện cho tôi", "goi  dien   cho toi ?", "goidien chotoi",
    "bạn ơi gọi lại cho tôi nhé", "vui lòng gọi điện thoại cho tôi", "liên hệ với tôi",
    "toi muon noi chuyen voi nguoi", "tư vấn viên", "tuvanvien", "tư vấn", "nhân viên", "xin gặp nhân viên hỗ trợ",
    "tôi cần người hỗ trợ", "cần người giúp", "gap tinh nguyen vien", "cho bác gặp tình nguyện viên",
    "nhờ hỗ trợ", "🙋 Nhờ hỗ trợ", "giúp tôi với", "cứu tôi với", "số tổng đài",
    "talk to a human", "call me", "please call me back", "I need a person", "help me please", "HELP!",
    "I need help", "can I talk to someone", "I want to speak to a real person", "can someone help me",
    "speak to a human please", "is there anyone",
]

HOW_TO_LOOK_ALIKES = [
    "cach goi dien video zalo", "goi dien video", "goi dien", "lam sao goi dien", "goi dien the nao",
    "gọi video cho người thân", "gọi cho con cháu", "gọi cho mẹ", "gọi điện cho mẹ tôi", "cách gọi cho con qua zalo",
    "quen mat khau", "quen mat khau vneid", "doi dien thoai moi", "giup toi cai vneid", "hỗ trợ cài vneid",
    "tu van bao hiem y te", "nhân viên ngân hàng gọi điện cho tôi đòi mã OTP", "có người gọi điện cho tôi",
    "số lạ gọi cho tôi", "lien he cong an phuong", "tổng đài 1022", "điểm hỗ trợ phường tân định",
    "đăng ký làm tình nguyện viên", "I want to become a volunteer", "có ai biết cách đăng ký tạm trú không",
    "how to video call", "help with vneid password", "call my daughter on zalo", "cài zalo", "bank",
    "xin chào", "hi", "vneid", "", "😀😀",
]


@pytest.mark.parametrize("text", ASKS_FOR_A_PERSON)
def test_requests_for_a_person_are_recognised(text):
    assert wants_human(text)


@pytest.mark.parametrize("text", HOW_TO_LOOK_ALIKES)
def test_how_to_questions_that_look_alike_are_left_to_search(text):
    assert not wants_human(text)


def test_decomposed_accents_are_the_same():
    text = "cho tôi gặp người thật"
    assert unicodedata.normalize("NFD", text) != text and wants_human(unicodedata.normalize("NFD", text))


def test_long_messages_are_never_taken_for_a_request():
    assert not wants_human("cho tôi gặp người thật " * 20)


def test_no_tested_search_query_is_taken_for_a_request():
    queries = tomllib.loads((ROOT / "tests" / "data" / "search_queries.toml").read_text(encoding="utf-8"))["query"]
    assert [q["text"] for q in queries if wants_human(q["text"])] == []
