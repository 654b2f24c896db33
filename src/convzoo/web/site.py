"""`convzoo site OUT_DIR`: the explorer's pages as static files (no server needed).

The live parts degrade: the "try a model" page says it needs `convzoo serve`; the compare
page shows every model and its ticks hide or show dots in the browser.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from convzoo.registry import list_models
from convzoo.web import pages
from convzoo.web.data import RunStore, default_cache

STATIC_FILES = Path(__file__).parent / "static"


def write_site(
    out_dir: str | Path,
    runs: Sequence[str | Path] = (),
    *,
    models: Sequence[str] | None = None,
    cache_dir: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write every page under ``out_dir``; returns the files written. ``models`` limits the
    model pages (default: every registered model; the index always lists them all)."""
    out = Path(out_dir)
    cache_dir = cache_dir or default_cache()
    store = RunStore(list(runs))
    written: list[Path] = []

    def page(path: str, render: Callable[[pages.Links], str]) -> None:
        target = out / (f"{path}.html" if path else "index.html")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(pages.Links(static_site=True, depth=path.count("/"))))
        written.append(target)
        if progress:
            progress(str(target))

    page("", lambda links: pages.index_page(links, cache_dir))
    page("compare", lambda links: pages.compare_page(links, cache_dir, []))
    page("runs", lambda links: pages.runs_page(links, store))
    page("try", lambda links: pages.try_page(links, store))
    for name in models if models is not None else list_models():
        page(f"models/{name}", lambda links, n=name: pages.model_page(links, n))
    for ident, run in store.runs.items():
        page(f"runs/{ident}", lambda links, r=run: pages.run_page(links, r))
    for ident, report in store.reports.items():
        page(f"reports/{ident}", lambda links, r=report: pages.report_page(links, r))
    shutil.copytree(STATIC_FILES, out / "static", dirs_exist_ok=True)
    for key, root in store.roots.items():  # pictures and logs the pages point at
        for path in sorted(root.rglob("*")):
            served = store.resolve(key, path.relative_to(root).as_posix())
            if served is not None:
                target = out / "files" / key / path.relative_to(root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(served, target)
                written.append(target)
    return written
