"""convzoo site OUT_DIR [--runs DIR...]"""

from __future__ import annotations

import argparse

NAME = "site"
HELP = "Write the explorer's pages as a static site (hostable anywhere; no live models)."
EXAMPLE = "convzoo site public/ --runs runs/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", help="folder to write the site into")
    parser.add_argument(
        "--runs", nargs="+", default=[], metavar="DIR", help="run directories to include"
    )
    parser.add_argument("--models", nargs="+", metavar="MODEL", help="model pages to write")


def run(args: argparse.Namespace) -> int:
    from convzoo.web import write_site

    written = write_site(args.out_dir, args.runs, models=args.models)
    print(f"wrote {len(written)} files to {args.out_dir} (open {args.out_dir}/index.html)")
    return 0
