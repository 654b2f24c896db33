"""Start-up: `--help` never imports torch; list, rf and cost never import torchvision."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "timm", "matplotlib", "onnxruntime")


def imported_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running `code`."""
    script = (
        "import json, sys, contextlib, io\n"
        f"{code}\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, check=True, cwd=ROOT)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_of_every_verb_imports_no_torch():
    code = (
        "from convzoo.cli import build_parser\n"
        "parser = build_parser()\n"
        "parser.format_help()\n"
        "for verb in parser._subparsers._group_actions[0].choices.values():\n"
        "    verb.format_help()"
    )
    assert imported_after(code) == []


def test_list_rf_and_cost_import_no_torchvision():
    code = (
        "from convzoo.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['list']) == 0\n"
        "    assert main(['rf', '3x3', '3x3']) == 0\n"
        "    assert main(['cost', '--in', '64']) == 0"
    )
    loaded = imported_after(code)
    assert "torchvision" not in loaded and "timm" not in loaded and "matplotlib" not in loaded
