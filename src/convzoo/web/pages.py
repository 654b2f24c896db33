"""HTML pages from Jinja2 templates; shared by the live server and the static site."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from convzoo.formatting import human
from convzoo.registry import model_card
from convzoo.web import charts
from convzoo.web.data import Report, Run, RunStore, model_details, model_diagram, registry_rows

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Links:
    """URLs of the pages: absolute for the server, relative ``.html`` files for the site."""

    static_site: bool = False
    depth: int = 0  # folders below the site's root (static site only)

    @property
    def root(self) -> str:
        return "../" * self.depth if self.static_site else "/"

    def page(self, path: str) -> str:
        if self.static_site:
            return self.root + (f"{path}.html" if path else "index.html")
        return self.root + path

    def index(self) -> str:
        return self.page("")

    def model(self, name: str) -> str:
        return self.page(f"models/{quote(name)}")

    def compare(self) -> str:
        return self.page("compare")

    def runs(self) -> str:
        return self.page("runs")

    def run(self, ident: str) -> str:
        return self.page(f"runs/{quote(ident)}")

    def report(self, ident: str) -> str:
        return self.page(f"reports/{quote(ident)}")

    def try_model(self) -> str:
        return self.page("try")

    def file(self, root: str, rel: str) -> str:
        return f"{self.root}files/{quote(root)}/{quote(rel)}"

    def asset(self, name: str) -> str:
        return f"{self.root}static/{name}"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["human"] = human
    env.filters["comma"] = lambda n: "-" if n is None else f"{n:,}"
    return env


def render(template: str, links: Links, **context: Any) -> str:
    return environment().get_template(template).render(links=links, **context)


def index_page(links: Links, cache_dir: str | None) -> str:
    rows = registry_rows(cache_dir)
    return render(
        "index.html",
        links,
        rows=rows,
        families=sorted({r.family for r in rows}),
        timeline=charts.timeline(rows, links.model),
    )


def model_page(links: Links, name: str) -> str:
    details = model_details(name)
    card = model_card(name)  # recipes and accuracy as text, as `convzoo info` prints them
    recipes = [("Paper recipe", card.recipe.rows())]
    if card.default_recipe is not None:
        recipes.append((f"Default recipe: {card.default_reason}", card.default_recipe.rows()))
    return render(
        "model.html",
        links,
        card=details["card"],
        accuracy=str(card.accuracy) if card.accuracy else None,
        recipes=recipes,
        summary=details["summary"],
        diagram=model_diagram(name),
    )


def compare_page(
    links: Links, cache_dir: str | None, selected: list[str], x: str = "macs", y: str = "top1"
) -> str:
    rows = registry_rows(cache_dir)
    chosen = [r for r in rows if r.name in selected] if selected else list(rows)
    return render(
        "compare.html",
        links,
        rows=rows,
        chosen={r.name for r in chosen},
        chart=charts.scatter(chosen, x, y),
        axes=charts.AXES,
        x=x,
        y=y,
    )


def runs_page(links: Links, store: RunStore) -> str:
    return render("runs.html", links, runs=[r.as_dict() for r in store.runs.values()],
                  reports=list(store.reports.values()))  # fmt: skip


def run_page(links: Links, run: Run) -> str:
    data = run.as_dict()
    model = (data["config"] or {}).get("model")
    first_layer = ""
    if model and data["has_checkpoint"]:  # the first convolution in the per-layer table
        try:
            rows = model_details(model)["summary"]["rows"]
            first_layer = next((r["name"] for r in rows if r["type"] == "Conv2d"), "")
        except (ValueError, KeyError):
            first_layer = ""
    return render("run.html", links, run=run, data=data, first_layer=first_layer)


def report_page(links: Links, report: Report) -> str:
    from convzoo.web.markdown import render_report

    return render("report.html", links, report=report, body=render_report(report, links))


def try_page(links: Links, store: RunStore) -> str:
    runs = [r for r in store.runs.values() if r.checkpoint() is not None]
    return render("try.html", links, runs=runs)


def not_found_page(links: Links, message: str) -> str:
    return render("404.html", links, message=message)
