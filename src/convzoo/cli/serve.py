"""convzoo serve [--port 8000] [--runs DIR...]"""

from __future__ import annotations

import argparse
import sys

NAME = "serve"
HELP = (
    "Explore the models, comparisons, runs and reports in the browser "
    "(a local web app; needs `pip install convzoo[serve]`)."
)
EXAMPLE = "convzoo serve --runs runs/   then open http://127.0.0.1:8000"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only)",
    )
    parser.add_argument(
        "--runs", nargs="+", default=[], metavar="DIR", help="run directories to show and serve"
    )


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from convzoo.web import create_app
    except ImportError as exc:
        raise FileNotFoundError(
            f"convzoo serve needs FastAPI and uvicorn ({exc}): pip install 'convzoo[serve]'"
        ) from None
    from convzoo.web.data import default_cache, registry_rows

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: binding {args.host}: anyone who can reach this address sees the "
            "served run directories",
            file=sys.stderr,
        )
    app = create_app(args.runs)
    print("measuring the registry (cached after the first start) ...", file=sys.stderr)
    registry_rows(default_cache())
    print(f"convzoo explorer on http://{args.host}:{args.port}  (Ctrl-C stops it)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
