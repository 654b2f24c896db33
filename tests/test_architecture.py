"""The layering of docs/architecture.md: no module imports a package above its own.

Every import of every module counts, at the top or inside a function (the lazy
imports that keep `convzoo --help` fast are imports all the same).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "convzoo"

# Lowest first. A module belongs to the longest prefix that names it; it may import
# its own layer and the layers below.
LAYERS: list[tuple[str, ...]] = [
    (
        "convzoo.errors",
        "convzoo.outputs",
        "convzoo.formatting",
        "convzoo.speed",
        "convzoo.weights_file",
        "convzoo.cards",
    ),
    ("convzoo.blocks",),
    (
        "convzoo.models",
        "convzoo.search.networks",
        "convzoo.search.specs",
        "convzoo.search.spaces",
        "convzoo.search.design_space",
    ),
    ("convzoo.registry", "convzoo.factory", "convzoo.interop"),
    ("convzoo.data", "convzoo.analysis"),
    ("convzoo.train",),
    ("convzoo.export", "convzoo.bench"),
    ("convzoo.experiments", "convzoo.search"),
    ("convzoo.web",),
    ("convzoo.cli", "convzoo.__main__", "convzoo"),
]

# (importer prefix, imported module): upward imports with a reason in docs/architecture.md.
EXCEPTIONS = {
    # A model module registers itself with `@register(ModelCard(...))` when it is imported.
    ("convzoo.models", "convzoo.registry"),
}


def layer_of(module: str) -> int:
    best, found = -1, None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    if found is None:
        raise AssertionError(f"{module} is in no layer of tests/test_architecture.py")
    return found


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str, src: Path = SRC) -> bool:
    path = src.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(path: Path, src: Path = SRC) -> set[str]:
    """convzoo modules a file imports (``from convzoo import x`` counts x if it is a module)."""
    own = module_name(path, src)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if is_module(candidate, src) else base)
    return {m for m in found if m == "convzoo" or m.startswith("convzoo.")}


def upward_imports(path: Path, src: Path = SRC) -> list[str]:
    own = module_name(path, src)
    mine = layer_of(own)
    return sorted(
        imported
        for imported in imported_modules(path, src)
        if layer_of(imported) > mine
        and not any(
            (own == importer or own.startswith(importer + ".")) and imported == target
            for importer, target in EXCEPTIONS
        )
    )


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_imports_a_layer_above_its_own(path):
    assert upward_imports(path) == [], f"{module_name(path)} imports a higher layer"


def test_the_check_sees_imports_inside_functions(tmp_path):
    for package in ("convzoo", "convzoo/blocks", "convzoo/train"):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "convzoo/train/engine.py").write_text("")
    bad = tmp_path / "convzoo/blocks/bad.py"
    bad.write_text("def f():\n    from convzoo.train import engine\n    from . import conv\n")
    assert upward_imports(bad, tmp_path) == ["convzoo.train.engine"]
    relative = tmp_path / "convzoo/blocks/relative.py"
    relative.write_text("def f():\n    from ..train import engine\n")
    assert upward_imports(relative, tmp_path) == ["convzoo.train.engine"]


def test_every_exception_is_still_needed():
    used = set()
    for path in MODULES:
        own = module_name(path)
        for imported in imported_modules(path):
            for importer, target in EXCEPTIONS:
                if (own == importer or own.startswith(importer + ".")) and imported == target:
                    used.add((importer, target))
    assert used == EXCEPTIONS
