"""Search latency on the shipped guides and on 10,000 generated ones."""

from __future__ import annotations

import random
import time
import tomllib
from dataclasses import replace
from pathlib import Path

from bench.harness import percentiles
from bot.content import load
from bot.search import SearchIndex, _phrase

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("cài đặt đăng ký tài khoản mật khẩu thanh toán hóa đơn điện nước ngân hàng chuyển khoản mã QR "
         "bảo hiểm xã hội y tế khám bệnh đặt lịch thuế hồ sơ tạm trú phản ánh lừa đảo cuộc gọi video "
         "mua sắm giao hàng ví điện tử khuôn mặt sinh trắc học căn cước định danh ứng dụng điện thoại").split()


def queries() -> list[tuple[str, str]]:
    data = tomllib.loads((ROOT / "tests" / "data" / "search_queries.toml").read_text(encoding="utf-8"))
    return [(q["text"], q.get("lang", "vi")) for q in data["query"]]


def measure(index: SearchIndex, qs: list[tuple[str, str]], rounds: int) -> dict[str, float]:
    samples = []
    for r in range(rounds):
        for text, lang in qs:
            if r == 0:
                index._candidates.cache_clear()  # first round: cold typo cache
            start = time.perf_counter()
            index.search(text, lang)
            samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def generated(n: int, seed: int = 7) -> SearchIndex:
    rng = random.Random(seed)
    base = list(load(ROOT / "content").guides.values())
    guides = []
    for i in range(n):
        g = base[i % len(base)]
        extra = " ".join(rng.sample(WORDS, 6)) + f" chude{i}"
        guides.append(replace(g, id=f"g{i}", title=replace(g.title, vi=f"{g.title.vi} {extra}"),
                              synonyms=(*g.synonyms, extra)))
    return SearchIndex(guides)


def scan_reference(guides: list, qs: list[tuple[str, str]], rounds: int) -> dict[str, float]:
    """The machine's yardstick: a plain scan of every guide's folded title for the folded query."""
    titles = [_phrase(f"{g.title.vi} {g.title.en}") for g in guides]
    samples = []
    for _ in range(rounds):
        for text, _lang in qs:
            start = time.perf_counter()
            folded = _phrase(text)
            [i for i, title in enumerate(titles) if folded in title]
            samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def run(size: str = "full") -> dict:
    qs = queries()
    guides = list(load(ROOT / "content").guides.values())
    rounds = 5 if size == "full" else 1
    result: dict = {"shipped": measure(SearchIndex(guides), qs, rounds),
                    "shipped scan": scan_reference(guides, qs, rounds)}
    n = 10_000 if size == "full" else 200
    start = time.perf_counter()
    big = generated(n)
    result["index build s"] = time.perf_counter() - start
    result["generated"] = measure(big, qs, 2 if size == "full" else 1)
    result["generated scan"] = scan_reference(big.guides, qs, 2 if size == "full" else 1)
    result["generated n"] = n
    return result


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else "full"), indent=1))
