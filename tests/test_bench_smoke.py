"""Each benchmark runs on a tiny size, and the report renders: benchmarks are not tests, this only
proves `make bench` will not break halfway. The figures themselves are not asserted here."""

from bench import broadcast, claims, pacer, search, startup, throughput, webhook, workers, zalo
from bench import dashboard as dashboard_bench
from bench.__main__ import machine, report, table


async def test_every_benchmark_runs_small_and_the_report_renders():
    results = {
        "throughput": await throughput.run("smoke"),
        "broadcast": await broadcast.run("smoke"),
        "pacer": await pacer.run("smoke"),
        "search": search.run("smoke"),
        "claims": await claims.run("smoke"),
        "startup": startup.run("smoke"),
        "zalo": await zalo.run("smoke"),
        "webhook": await webhook.run("smoke"),
        "dashboard": await dashboard_bench.run("smoke"),
        "workers": await workers.run("smoke"),
    }
    assert results["zalo"]["zalo messages sent"] >= results["zalo"]["updates"]
    assert results["throughput"]["updates"] >= 150 and results["throughput"]["resolved"] > 0
    assert results["broadcast"]["sent"] == results["broadcast"]["recipients"]
    assert results["pacer"]["sent"] == results["pacer"]["recipients"]
    across = results["pacer"]["processes"][0]
    assert across["sent"] == across["recipients"] and across["duplicates"] == 0
    assert results["claims"]["winners per race"] == [1]
    assert results["webhook"]["bot"]["replies"] == results["webhook"]["bot"]["updates"]
    assert results["dashboard"]["pages read meanwhile"] > 0
    assert all(row["replies"] == row["updates"] for row in results["workers"].values() if isinstance(row, dict))
    text = report(results, machine(), "python -m bench --size smoke", 1.0, "smoke")
    assert table(results) in text and "## Before and after the fixes" in text
