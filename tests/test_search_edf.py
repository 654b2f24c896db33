"""The error-EDF comparison of design spaces (Radosavovic et al. 2020, Sections 2-3)."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from convzoo.analysis.summary import summary
from convzoo.cli import main
from convzoo.models.regnet import AnyNet
from convzoo.search.design_space import (
    ANYNETX_A,
    DESIGN_SPACES,
    REGNET,
    AnyNetSpace,
    anynet_macs,
    sample_anynet,
    scaled_space,
)
from convzoo.search.edf import EdfConfig, error_edf, run_edf, sample_in_range, summarise
from tests.helpers import one_torch_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = "synthetic:channels=1,size=12,classes=3,train=96,test=32"


def test_edf_counts_the_errors_strictly_below_each_threshold() -> None:
    errors = [0.1, 0.2, 0.2, 0.4]
    assert error_edf(errors, [0.1, 0.2, 0.25, 0.5]) == [0.0, 0.25, 0.75, 1.0]
    with pytest.raises(ValueError, match="no errors"):
        error_edf([], [0.5])


def test_summary_per_space_at_the_pooled_quartiles() -> None:
    rows = [{"space": "A", "error": e} for e in (0.5, 0.6, 0.7, 0.8)]
    rows += [{"space": "B", "error": e} for e in (0.1, 0.2, 0.3, 0.4)]
    out = summarise(rows, ("A", "B", "C"))
    assert out["thresholds"] == [0.3, 0.5, 0.7]  # quartiles of the eight errors
    a, b = out["spaces"]["A"], out["spaces"]["B"]
    assert a["n"] == 4 and a["mean_error"] == pytest.approx(0.65) and a["min_error"] == 0.5
    assert a["edf"] == {"0.3": 0.0, "0.5": 0.0, "0.7": 0.5}
    assert b["edf"] == {"0.3": 0.5, "0.5": 1.0, "0.7": 1.0}
    assert "C" not in out["spaces"]  # no model of C: no row rather than a made-up one


def test_the_paper_scale_is_the_papers_spaces() -> None:
    assert scaled_space(ANYNETX_A, 16, 1024) == ANYNETX_A
    assert scaled_space(REGNET, 16, 1024) == REGNET
    small = scaled_space(REGNET, 2, 64)
    assert (small.max_depth, small.max_w0, small.max_wa) == (7, 8, 16.0)


@pytest.mark.parametrize("space", sorted(DESIGN_SPACES))
def test_analytic_macs_equal_the_summary_count(space: str) -> None:
    rng = random.Random(1)
    small = scaled_space(DESIGN_SPACES[space], 2, 128)
    for image in ((1, 32, 32), (3, 40, 36)):  # 40 -> 20 -> 10 -> 5 -> 3 -> 2: odd sizes round up
        config = sample_anynet(rng, small)
        model = AnyNet(config, num_classes=7, in_channels=image[0])
        assert anynet_macs(config, image, 7) == summary(model, image, rows=False).total_macs


def _respects(space, stages) -> bool:
    depths = [d for d, _, _, _ in stages]
    widths = [w for _, w, _, _ in stages]
    if isinstance(space, AnyNetSpace):
        if max(depths) > space.max_depth or max(widths) > space.max_width:
            return False
        if space.shared_bottleneck_ratio and len({b for _, _, b, _ in stages}) > 1:
            return False
        if space.shared_group_width and len({g for _, _, _, g in stages}) > 1:
            return False
        if space.increasing_widths and widths != sorted(widths):
            return False
        return not space.increasing_depths or depths == sorted(depths)
    return len(stages) == 4 and sum(depths) <= space.max_depth and widths == sorted(widths)


@pytest.mark.parametrize("space", sorted(DESIGN_SPACES))
def test_draws_respect_the_space_and_the_mac_range(space: str) -> None:
    small = scaled_space(DESIGN_SPACES[space], 3, 128)
    image, mac_range = (1, 32, 32), (0.4e6, 1.2e6)
    for seed in range(5):
        spec = sample_in_range(random.Random(seed), small, image, 10, mac_range, stem_width=16)
        assert _respects(small, spec.stages), spec
        assert mac_range[0] <= anynet_macs(spec.config(), image, 10) <= mac_range[1]
    with pytest.raises(ValueError, match="no network of"):
        sample_in_range(random.Random(0), small, image, 10, (1.0, 2.0), max_draws=100)
    if not isinstance(small, AnyNetSpace):
        with pytest.raises(ValueError, match="max_depth >= 2"):
            scaled_space(DESIGN_SPACES[space], 1, 128)


def test_space_names_and_bad_settings() -> None:
    cfg = EdfConfig(spaces=("a", "E", "regnet", "AnyNetX_C"))
    assert cfg.spaces == ("AnyNetX_A", "AnyNetX_E", "RegNet", "AnyNetX_C")
    assert cfg.mac_range((1, 32, 32)) == pytest.approx((0.9 * 400e6 / 49, 400e6 / 49))
    with pytest.raises(ValueError, match="unknown design space"):
        EdfConfig(spaces=("F",))
    with pytest.raises(ValueError, match="above max_macs"):
        EdfConfig(min_macs=2e6, max_macs=1e6)


def test_edf_end_to_end_resumes_without_retraining(tmp_path, capsys) -> None:
    out = tmp_path / "edf"
    args = ["search", "edf", "--spaces", "A", "regnet", "--dataset", DATA, "--epochs", "1",
            "--max-depth", "2", "--max-width", "64", "--min-macs", "0", "--max-macs", "2e6",
            "--batch-size", "32", "--threads", "1", "--out", str(out)]  # fmt: skip
    assert main([*args, "--samples", "1"]) == 0
    printed = capsys.readouterr().out
    assert "[2/2]" in printed and "AnyNetX_A" in printed and "F(" in printed
    first = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    cut_short = out / "models" / "AnyNetX_A" / "001" / "run"  # a model killed mid-training
    cut_short.mkdir(parents=True)
    (cut_short / "config.json").write_text("{}")
    assert main([*args, "--samples", "2", "--json"]) == 0  # one more of each: two trainings
    results = json.loads(capsys.readouterr().out)
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4 and [json.loads(line) for line in lines[:2]] == first
    assert {(m["space"], m["index"]) for m in results["models"]} == set(
        itertools.product(("AnyNetX_A", "RegNet"), (0, 1))
    )
    assert all(0.0 <= m["error"] <= 1.0 and m["macs"] <= 2e6 for m in results["models"])
    assert results["summary"]["spaces"]["RegNet"]["n"] == 2
    assert (out / "edf.png").stat().st_size > 0 and "| AnyNetX_A | 2 |" in (
        out / "report.md"
    ).read_text()
    with pytest.raises(ValueError, match="other settings"):
        run_edf(EdfConfig(spaces=("A",), dataset=DATA, epochs=2, out=str(out), max_depth=2,
                          max_width=64, min_macs=0, max_macs=2e6, batch_size=32))  # fmt: skip


def test_edf_options_outside_edf_are_refused(capsys) -> None:
    assert main(["search", "--samples", "3", "--spaces", "A"]) == 2
    assert "--spaces, --samples: options of `convzoo search edf`" in capsys.readouterr().err
