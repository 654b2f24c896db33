"""Weight sharing (ENAS): a child is a path through the shared network; searches resume."""

from __future__ import annotations

import random

import pytest
import torch

from convzoo.cli import main
from convzoo.search.run import SHARED_STATE, SearchConfig, finished_trials, open_study, run_worker
from convzoo.search.sharing import SharedNasNet
from convzoo.search.spaces import NasNetSearchSpace
from tests.helpers import one_torch_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIZES = {"num_blocks": 3, "cells_per_stage": 1, "filters": 4, "num_reductions": 2,
         "stem_filters": 6}  # fmt: skip
DATA = "synthetic:channels=1,size=12,classes=3,train=96,test=32"


def _shared_and_spec(seed: int):
    torch.manual_seed(seed)
    shared = SharedNasNet(**SIZES, num_classes=3, in_channels=1)
    spec = NasNetSearchSpace(**SIZES).sample(random.Random(seed))
    return shared, spec


def _columns(shared: SharedNasNet, spec, producer: int | None) -> torch.Tensor | None:
    """Which input channels of the shared weights a child's layer reads: the unused blocks
    of the cell that produced the input (None: the stem's, all of them)."""
    if producer is None:
        return None
    cell = spec.reduction if shared.reductions[producer] else spec.normal
    width = shared.cells[producer].out_channels // shared.num_blocks
    return torch.cat([torch.arange((s - 2) * width, (s - 1) * width) for s in cell.unused()])


def _copy(dst: torch.nn.Module, src: torch.nn.Module, columns: torch.Tensor | None) -> None:
    for name, param in dst.named_parameters():
        value = src.get_parameter(name)
        if value.shape != param.shape:
            value = value[:, columns]
        param.data.copy_(value)


def _child_with_shared_weights(shared: SharedNasNet, spec):
    """The child built alone, its weights taken from the shared network along its path."""
    child = spec.build(num_classes=3, in_channels=1)
    _copy(child.stem, shared.stem, None)
    cells = [cell for stage in child.stages for cell in stage.cells]
    prev_prev = prev = None  # which cell made each input (None: the stem)
    for t, (mine, theirs) in enumerate(zip(cells, shared.cells, strict=True)):
        if shared.stage_starts[t]:
            prev_prev = prev
        _copy(mine.pre0, theirs.pre0, _columns(shared, spec, prev_prev))
        _copy(mine.pre1, theirs.pre1, _columns(shared, spec, prev))
        kind = spec.reduction if shared.reductions[t] else spec.normal
        for b, block in enumerate(kind.blocks):
            for side in (0, 1):
                source = theirs.ops[b][block.inputs[side]][block.ops[side]]
                _copy(mine.ops[2 * b + side], source, None)
        prev_prev, prev = prev, t
    _copy(child.head.fc, shared.head[2], _columns(shared, spec, prev))
    return child


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_child_is_a_path_through_the_shared_network(seed) -> None:
    shared, spec = _shared_and_spec(seed)
    child = _child_with_shared_weights(shared, spec)
    x = torch.randn(4, 1, 12, 12)
    # training mode: batch statistics in both (the shared network keeps no running ones)
    torch.testing.assert_close(shared(x, spec), child.train()(x), rtol=1e-4, atol=1e-5)


def test_only_the_ops_on_the_path_learn_and_other_sizes_are_refused() -> None:
    shared, spec = _shared_and_spec(3)
    shared(torch.randn(4, 1, 12, 12), spec).sum().backward()
    chosen = {(b, i, op) for b, blk in enumerate(spec.normal.blocks)
              for i, op in zip(blk.inputs, blk.ops, strict=True)}  # fmt: skip
    first_cell = shared.cells[0]  # a normal cell
    for b, row in enumerate(first_cell.ops):
        for i, ops in enumerate(row):
            for op, module in ops.items():
                grads = [p.grad for p in module.parameters()]
                if (b, i, op) in chosen:
                    assert all(g is not None for g in grads)
                else:
                    assert all(g is None for g in grads), (b, i, op)
    bigger = NasNetSearchSpace(**{**SIZES, "filters": 8}).sample(random.Random(0))
    with pytest.raises(ValueError, match="shared weights hold 3-block cells"):
        shared(torch.randn(2, 1, 12, 12), bigger)


def _config(tmp_path, trials: int) -> SearchConfig:
    return SearchConfig(
        space="nasnet", strategy="random", dataset=DATA, trials=trials, batch_size=16,
        out=str(tmp_path / "run"), space_options=SIZES, threads=1, weight_sharing=True,
        shared_steps=3,
    )  # fmt: skip


def test_a_shared_weights_search_resumes_with_its_weights(tmp_path) -> None:
    cfg = _config(tmp_path, trials=3)
    assert run_worker(cfg, stop_after=2) == 2  # as if killed after two children
    state = torch.load(tmp_path / "run" / SHARED_STATE, weights_only=True)
    assert state["position"] == 2 * cfg.shared_steps
    assert run_worker(cfg) == 1
    resumed = torch.load(tmp_path / "run" / SHARED_STATE, weights_only=True)
    assert resumed["position"] == 3 * cfg.shared_steps  # continued, not restarted
    done = finished_trials(open_study(cfg))
    assert [r.number for r in done] == [0, 1, 2] and all(0 <= r.reward <= 1 for r in done)
    assert not (tmp_path / "run" / "trials" / "0000" / "run").exists()  # no child trained alone


def test_weight_sharing_needs_the_nasnet_space_and_one_worker(tmp_path) -> None:
    with pytest.raises(ValueError, match="nasnet space with one worker"):
        SearchConfig(space="zoph", weight_sharing=True)
    with pytest.raises(ValueError, match="nasnet space with one worker"):
        SearchConfig(space="nasnet", weight_sharing=True, workers=2)


@pytest.mark.slow  # ~1 min on two shared cores; the resume test above covers the mechanism
def test_search_cli_with_weight_sharing_retrains_the_best_alone(tmp_path, capsys) -> None:
    out = tmp_path / "cli"
    code = main(["search", "--quick", "--dataset", f"{DATA}@96", "--strategy", "random",
                 "--weight-sharing", "--shared-steps", "2", "--trials", "2", "--final-epochs",
                 "1", "--batch-size", "16", "--threads", "1", "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "2 steps with shared weights" in printed and "test top-1" in printed
    assert (out / SHARED_STATE).is_file() and (out / "final" / "summary.json").is_file()
