"""Search latency on the shipped guides and on 10,000 generated ones."""

from __future__ import annotations

import random
import statistics
import time
import tomllib
from dataclasses import replace
from pathlib import Path

from bot.content import load
from bot.search import SearchIndex

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("cài đặt đăng ký tài khoản mật khẩu thanh toán hóa đơn điện nước ngân hàng chuyển khoản mã QR "
         "bảo hiểm xã hội y tế khám bệnh đặt lịch thuế hồ sơ tạm trú phản ánh lừa đảo cuộc gọi video "
         "mua sắm giao hàng ví điện tử khuôn mặt sinh trắc học căn cước định danh ứng dụng điện thoại").split()


def queries() -> list[tuple[str, str]]:
    data = tomllib.loads((ROOT / "tests" / "data" / "search_queries.toml").read_text(encoding="utf-8"))
    return [(q["text"], q.get("lang", "vi")) for q in data["query"]]


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    qs = statistics.quantiles(samples_ms, n=100)
    return {"p50": statistics.median(samples_ms), "p95": qs[94], "p99": qs[98], "n": len(samples_ms)}


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


def run(size: str = "full") -> list[tuple[str, dict]]:
    qs = queries()
    shipped = SearchIndex(list(load(ROOT / "content").guides.values()))
    rows = [("search, shipped guides (ms)", measure(shipped, qs, 5 if size == "full" else 1))]
    n = 10_000 if size == "full" else 200
    start = time.perf_counter()
    big = generated(n)
    build = time.perf_counter() - start
    result = measure(big, qs, 2 if size == "full" else 1)
    result["index build s"] = build
    rows.append((f"search, {n:,} generated guides (ms)", result))
    return rows


if __name__ == "__main__":
    for name, result in run():
        print(name, {k: round(v, 3) for k, v in result.items()})
