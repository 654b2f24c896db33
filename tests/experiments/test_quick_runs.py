"""Every experiment's `--quick` budget (digits or shapes, 3 epochs, 3 seeds) runs to a verdict."""

import json

import pytest

from convzoo.cli import main
from convzoo.experiments import list_experiments
from convzoo.experiments.verdict import CONFIRMED, CONTRADICTED, NOT_SHOWN


@pytest.mark.slow
@pytest.mark.parametrize("name", [e.name for e in list_experiments()])
def test_quick_run_reaches_a_verdict(name, tmp_path):
    assert main(["reproduce", name, "--quick", "--out", str(tmp_path)]) == 0
    out = tmp_path / name
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"]["status"] in (CONFIRMED, NOT_SHOWN, CONTRADICTED)
    assert all(len(a["per_seed"]) == 3 for a in results["arms"])
    report = (out / "report.md").read_text()
    assert results["claim"] in report and f"convzoo reproduce {name} --quick" in report
    for line in report.splitlines():  # every embedded figure exists
        if line.startswith("!["):
            assert (out / line.split("](")[1].rstrip(")")).is_file(), line
