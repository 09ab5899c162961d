"""The Telegram stand-in answers what the bot asks of it as Telegram does (bot/botapi_standin.py)."""

from __future__ import annotations

from telegram import Bot

from bot.botapi_standin import FakeBotAPI

TOKEN = "123456:STANDIN-TEST"


async def test_get_webhook_info_answers_as_telegram_does():
    """A webhook-mode process asks getWebhookInfo every minute (bot/app.py `_probe`); the stand-in's bare
    `true` made that a traceback in the log each minute of every multi-process test and check by hand."""
    api = FakeBotAPI()
    async with Bot(TOKEN, request=api) as bot:
        assert (await bot.get_webhook_info()).url == ""
        await bot.set_webhook("https://bot.example.org/telegram", secret_token="s3cret")
        info = await bot.get_webhook_info()
        assert info.url == "https://bot.example.org/telegram"
        assert info.pending_update_count == 0
        await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
