"""The explorer: `convzoo serve` (a local web app) and `convzoo site` (static pages).

``create_app(runs=[...])`` builds the ASGI app (needs the ``serve`` extra: FastAPI, uvicorn);
``write_site(out_dir, runs=[...])`` writes the same pages as files.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "write_site"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    from convzoo.web.app import create_app as build

    return build(*args, **kwargs)


def write_site(*args: Any, **kwargs: Any) -> Any:
    from convzoo.web.site import write_site as write

    return write(*args, **kwargs)
