"""Cold start to the first reply, and idle memory, each in a fresh Python process.

The child imports the bot, builds the Application (content, search index, a new SQLite file and its
migrations, the command menus) and answers /start through the stand-in; then it reports its resident
memory at rest. Reference: the same for the echo bot (python-telegram-bot alone).
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # before any import of the bot: the import time is part of a cold start

import asyncio  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402


async def _child(which: str) -> dict:
    from bench.harness import current_rss_mb, open_bot, open_echo

    imported = time.perf_counter()
    opener = open_bot() if which == "bot" else open_echo()
    async with opener as b:
        ready = time.perf_counter()
        await b.driver.send(1001, "/start" if which == "bot" else "xin chào")
        replied = time.perf_counter()
        assert b.api.calls["sendMessage"] == 1
        rss = current_rss_mb()
    return {"import s": imported - T0, "build to ready s": ready - imported, "first reply s": replied - imported,
            "import to first reply s": replied - T0, "idle rss MB": rss}


def measure(which: str) -> dict:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "bench.startup", "--child", which], capture_output=True, text=True,
                         check=True)
    result = json.loads(out.stdout)
    result["process s"] = time.perf_counter() - start
    return result


def run(size: str = "full") -> dict:
    rounds = 3 if size == "full" else 1
    bot = min((measure("bot") for _ in range(rounds)), key=lambda r: r["import to first reply s"])
    echo = min((measure("echo") for _ in range(rounds)), key=lambda r: r["import to first reply s"])
    return {"bot": bot, "echo": echo, "rounds": rounds,
            "first reply ratio": bot["import to first reply s"] / echo["import to first reply s"],
            "idle rss ratio": bot["idle rss MB"] / echo["idle rss MB"]}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(_child(sys.argv[2]))))
    else:
        print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else "full"), indent=1))
