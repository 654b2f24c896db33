"""Reports (report.md) as HTML: raw HTML in them is escaped, relative pictures are
pointed at the served copy of the report's folder."""

from __future__ import annotations

import posixpath

from markdown_it import MarkdownIt

from convzoo.web.data import Report


def render_report(report: Report, links) -> str:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    text = report.path.read_text(errors="replace")
    tokens = md.parse(text)
    folder = posixpath.dirname(report.rel)
    for token in tokens:
        for child in token.children or ():
            src = child.attrGet("src") if child.type == "image" else None
            if src and "://" not in src and not src.startswith(("/", "data:")):
                child.attrSet("src", links.file(report.root, posixpath.join(folder, src)))
    return md.renderer.render(tokens, md.options, {})
