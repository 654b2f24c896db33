"""Load time of the explorer's index page (104+ models) and of a model page.

Starts the app under uvicorn on a free local port and times full HTTP GETs with a warm
cache (the registry's numbers are measured once and cached, as `convzoo serve` does):

    python benchmarks/bench_web.py [--repeats 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time
import urllib.request

import uvicorn

from convzoo.web import create_app


def _get(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url) as response:
        response.read()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="error")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    results = {}
    for name, path in (("index", "/"), ("model resnet50", "/models/resnet50")):
        first = _get(base + path)  # fills the caches (registry rows, summary, diagram)
        times = [_get(base + path) for _ in range(args.repeats)]
        results[name] = {
            "first_s": first,
            "median_s": statistics.median(times),
            "max_s": max(times),
            "repeats": args.repeats,
        }
    server.should_exit = True
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, r in results.items():
        first, median = r["first_s"] * 1000, r["median_s"] * 1000
        print(
            f"{name:16s} first {first:7.1f} ms   median {median:6.1f} ms"
            f"   max {r['max_s'] * 1000:6.1f} ms  ({r['repeats']} GETs)"
        )


if __name__ == "__main__":
    main()
