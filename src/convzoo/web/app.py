"""The explorer as an ASGI app: pages and a JSON API over the library calls the CLI uses."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from convzoo.errors import ConvzooError
from convzoo.registry import model_card
from convzoo.web import pages
from convzoo.web.data import (
    RunStore,
    default_cache,
    json_safe,
    model_details,
    model_diagram,
    registry_rows,
)
from convzoo.web.predict import MAX_UPLOAD_BYTES, UploadError, effective_field, predict

LIVE = pages.Links()
STATIC = Path(__file__).parent / "static"


class NotFound(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _known_model(name: str) -> str:
    try:
        model_card(name)
    except (ConvzooError, ValueError, KeyError) as exc:
        raise NotFound(str(exc).strip("'\"")) from None
    return name


def _error(request: Request, message: str, status: int) -> Response:
    """An error as JSON for the API, as a page for a browser."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    return HTMLResponse(pages.not_found_page(LIVE, message), status_code=status)


def create_app(runs: Sequence[str | Path] = (), *, cache_dir: str | None = None) -> FastAPI:
    """The explorer over the registry and the run directories ``runs`` (only these are
    served). ``cache_dir`` keeps the registry's numbers between starts (default: the
    cache of `convzoo compare`)."""
    cache_dir = cache_dir or default_cache()
    store = RunStore(list(runs))
    app = FastAPI(title="convzoo explorer", docs_url="/api/docs", redoc_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def run_of(ident: str):
        if ident not in store.runs:
            raise NotFound(f"no run {ident!r} among the run directories served")
        return store.runs[ident]

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _error(request, exc.message, 404)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        return _error(request, message, exc.status_code)

    # pages
    page = partial(app.get, response_class=HTMLResponse)

    @page("/")
    def index() -> str:
        return pages.index_page(LIVE, cache_dir)

    @page("/models/{name}")
    def model(name: str) -> str:
        return pages.model_page(LIVE, _known_model(name))

    @page("/compare")
    def compare_view(models: str = "", x: str = "macs", y: str = "top1") -> str:
        names = [_known_model(n) for n in models.split(",") if n]
        if x not in pages.charts.AXES or y not in pages.charts.AXES:
            raise NotFound(f"axes are {', '.join(pages.charts.AXES)}; got x={x!r}, y={y!r}")
        return pages.compare_page(LIVE, cache_dir, names, x, y)

    @page("/runs")
    def runs_view() -> str:
        return pages.runs_page(LIVE, store)

    @page("/runs/{ident}")
    def run_view(ident: str) -> str:
        return pages.run_page(LIVE, run_of(ident))

    @page("/reports/{ident}")
    def report_view(ident: str) -> str:
        if ident not in store.reports:
            raise NotFound(f"no report {ident!r} in the run directories served")
        return pages.report_page(LIVE, store.reports[ident])

    @page("/try")
    def try_view() -> str:
        return pages.try_page(LIVE, store)

    @app.get("/files/{root}/{rel:path}")
    def files(root: str, rel: str) -> FileResponse:
        path = store.resolve(root, rel)
        if path is None:
            raise NotFound(f"no file {rel!r} in the run directories served")
        return FileResponse(path)

    # JSON API: the data of `convzoo compare --all --json`, `convzoo info NAME --json`, ...
    @app.get("/api/models")
    def api_models() -> list[dict]:
        return json_safe([r.as_dict() for r in registry_rows(cache_dir)])

    @app.get("/api/models/{name}")
    def api_model(name: str) -> dict:
        return model_details(_known_model(name))

    @app.get("/api/models/{name}/diagram.svg")
    def api_diagram(name: str) -> Response:
        return Response(model_diagram(_known_model(name)), media_type="image/svg+xml")

    @app.get("/api/compare")
    def api_compare(models: str) -> list[dict]:
        names = {_known_model(n) for n in models.split(",") if n}
        return json_safe([r.as_dict() for r in registry_rows(cache_dir) if r.name in names])

    @app.get("/api/runs")
    def api_runs() -> list[dict]:
        return [r.as_dict() for r in store.runs.values()]

    @app.get("/api/runs/{ident}")
    def api_run(ident: str) -> dict:
        return run_of(ident).as_dict()

    @app.get("/api/reports")
    def api_reports() -> list[dict]:
        return [
            {"id": r.id, "folder": r.root, "path": r.rel, "url": LIVE.report(r.id)}
            for r in store.reports.values()
        ]

    @app.post("/api/runs/{ident}/predict")
    async def api_predict(ident: str, request: Request, top_k: int = 5) -> Response:
        checkpoint = run_of(ident).checkpoint()
        if checkpoint is None:
            raise NotFound(f"run {ident!r} has no checkpoint")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
            return JSONResponse({"error": f"upload over {MAX_UPLOAD_BYTES:,} bytes"}, 413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_UPLOAD_BYTES:  # stop reading: the limit holds without a header
                return JSONResponse({"error": f"upload over {MAX_UPLOAD_BYTES:,} bytes"}, 413)
        try:
            return JSONResponse(predict(checkpoint, bytes(body), top_k))
        except UploadError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    @app.get("/api/runs/{ident}/effective-field")
    def api_effective_field(ident: str, layer: str) -> Response:
        checkpoint = run_of(ident).checkpoint()
        if checkpoint is None:
            raise NotFound(f"run {ident!r} has no checkpoint")
        try:
            return JSONResponse(effective_field(checkpoint, layer))
        except UploadError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return app
