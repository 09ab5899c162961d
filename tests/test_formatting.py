"""Campaign formatting: the dashboard's markup ↔ Telegram's (text, entities) ↔ what residents see."""

from bot.formatting import from_markup, to_html, to_markup, utf16_len


def test_markup_becomes_telegram_entities_in_utf16_units():
    text, entities = from_markup("📣 **Tiêm chủng** miễn phí, __thứ Bảy__: [xem lịch](https://hcmc.gov.vn/lich)")
    assert text == "📣 Tiêm chủng miễn phí, thứ Bảy: xem lịch"
    assert entities == [{"type": "bold", "offset": 3, "length": 10},  # the emoji counts 2, as Telegram counts
                        {"type": "italic", "offset": 24, "length": 7},
                        {"type": "text_link", "offset": 33, "length": 8, "url": "https://hcmc.gov.vn/lich"}]
    assert utf16_len("📣 ") == 3


def test_a_marker_without_its_pair_stays_as_typed():
    assert from_markup("2 ** 3 = 8, a__b") == ("2 ** 3 = 8, a__b", [])
    assert from_markup("**đậm** và ** lẻ") == ("đậm và ** lẻ", [{"type": "bold", "offset": 0, "length": 3}])
    assert from_markup("[chữ](javascript:alert(1))") == ("[chữ](javascript:alert(1))", [])


def test_chat_entities_open_as_markup_and_read_back_the_same():
    text = "Tiêm chủng miễn phí thứ Bảy 🎉 tại UBND"
    entities = [{"type": "bold", "offset": 0, "length": 10}, {"type": "italic", "offset": 5, "length": 5},
                {"type": "text_link", "offset": 35, "length": 4, "url": "https://example.vn/"}]
    markup = to_markup(text, entities)
    assert markup == "**Tiêm __chủng__** miễn phí thứ Bảy 🎉 tại [UBND](https://example.vn/)"
    assert from_markup(markup) == (text, entities)


def test_html_shows_formatting_and_escapes_everything_else():
    text, entities = from_markup("**<b>ấy</b>** [đây](https://a.vn/?x=1&y=\"2\")")
    shown = to_html(text, entities)
    assert shown == ('<b>&lt;b&gt;ấy&lt;/b&gt;</b> <a href="https://a.vn/?x=1&amp;y=&quot;2&quot;" '
                     'rel="noopener noreferrer" target="_blank">đây</a>')
    assert to_html("x", [{"type": "text_link", "offset": 0, "length": 1, "url": "javascript:alert(1)"}]) == "x"
    crossing = [{"type": "bold", "offset": 0, "length": 3}, {"type": "italic", "offset": 2, "length": 3}]
    assert to_html("abcde", crossing) == "<b>ab<i>c</i></b>de"
