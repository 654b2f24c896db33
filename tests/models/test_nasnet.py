"""NASNet-A (Zoph, Vasudevan, Shlens, Le 2018)."""

import pytest
import torch

import convzoo
from convzoo.analysis.summary import summary
from convzoo.blocks.padding import SamePad, same_padding
from convzoo.interop import map_state_dict
from convzoo.models.nasnet import NASNET_A_NORMAL, NASNET_A_REDUCTION, Branch, Cell, CellTable
from tests.models._counts import meta_params
from tests.models.shapes import output_shapes


def test_parameters():
    assert meta_params("nasnet_a_large") == 88_753_150  # == timm nasnetalarge; Table 2: 88.9M
    assert meta_params("nasnet_a_mobile") == 5_289_978  # Table 3: 5.3M
    assert convzoo.model_card("nasnet_a_mobile").paper_params.agrees(5_289_978)


def test_multiply_adds_match_tables_2_and_3():
    mobile = summary("nasnet_a_mobile").total_macs
    assert mobile == 563_638_816
    assert convzoo.model_card("nasnet_a_mobile").paper_macs.agrees(mobile)  # 564M
    large = summary("nasnet_a_large").total_macs
    assert large == 23_783_414_658
    assert convzoo.model_card("nasnet_a_large").paper_macs.agrees(large)  # 23.8B


@pytest.mark.parametrize(
    ("name", "sides", "widths"),
    [
        ("nasnet_a_large", (165, 83, 42, 21, 11), (96, 168, 1008, 2016, 4032)),
        ("nasnet_a_mobile", (111, 56, 28, 14, 7), (32, 44, 264, 528, 1056)),
    ],
)
def test_maps_halve_with_tf_same_padding(name, sides, widths):
    s = output_shapes(name)
    cells = ("stem", "cell_stem_0", "cell_5" if "large" in name else "cell_3")
    assert s["stem.norm"] == (1, widths[0], sides[0], sides[0])
    assert s[f"stages.stage1.cells.{cells[1]}"] == (1, widths[1], sides[1], sides[1])
    assert s[f"stages.stage2.cells.{cells[2]}"] == (1, widths[2], sides[2], sides[2])
    assert s["final"] == (1, widths[4], sides[4], sides[4])
    with torch.device("meta"):
        info = convzoo.create_model(name, features_only=True).feature_info
    assert info.channels() == list(widths) and info.reductions() == [2, 4, 8, 16, 32]


def test_cell_tables_follow_figure_4():
    # normal: five blocks and h[i-2] concatenated (6 x filters); reduction: four blocks
    assert len(NASNET_A_NORMAL.concat) == 6 and len(NASNET_A_REDUCTION.concat) == 4
    ops = [branch.op for block in NASNET_A_NORMAL.blocks for branch in block]
    assert ops.count("sep_3x3") == 3 and ops.count("avg_3x3") == 3 and "max_3x3" not in ops
    assert NASNET_A_REDUCTION.blocks[4] == (Branch("b0", "sep_3x3"), Branch("h1", "max_3x3"))
    with pytest.raises(ValueError, match="unknown state or op"):
        CellTable(blocks=((Branch("b0", "identity"), Branch("h1", "identity")),), concat=("b0",))


def _h2_of_cell_after_first_reduction(name):
    """Which cell's output the first normal cell after reduction_cell_0 reads as h[i-2]."""
    with torch.device("meta"):
        model = convzoo.create_model(name).eval()
    cells = {n: c for stage in model.stages for n, c in stage.cells.items()}
    outputs, seen = {}, []
    for cell_name, cell in cells.items():
        cell.register_forward_hook(lambda _m, _i, out, n=cell_name: outputs.__setitem__(n, out))
    after = cells[f"cell_{model.config.repeats}"].adjust_h2  # cells 0..N-1 come before it
    after.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    model(torch.empty(1, 3, 64, 64, device="meta"))
    return next(n for n, out in outputs.items() if out is seen[0])


def test_the_cell_after_a_reduction_reads_h2_as_the_tf_code_does():
    # 6@4032 (skip_reduction_layer_input=1): the reduction cell's own h[i-2];
    # 4@1056: the reduction cell's h[i-1]
    assert _h2_of_cell_after_first_reduction("nasnet_a_large") == "cell_4"
    assert _h2_of_cell_after_first_reduction("nasnet_a_mobile") == "cell_3"


def test_same_padding_puts_the_odd_pixel_at_the_end():
    assert same_padding(42, 3, 2) == (0, 1)  # even map, stride 2: TF pads bottom/right only
    assert same_padding(83, 7, 2) == (3, 3)  # odd map: symmetric, as torch would pad
    assert same_padding(7, 3, 1) == (1, 1)
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    padded = SamePad(3, 2, value=float("-inf"))(x)
    assert padded.shape == (1, 1, 5, 5) and padded[0, 0, 0, 0] == 0 and padded[0, 0, 4, 4] < 0


def test_drop_path_grows_with_depth_and_spares_the_identity():
    model = convzoo.create_model("nasnet_a_mobile", drop_path=0.3)
    first = model.stages.stage1.cells.cell_stem_0.blocks[0]
    last = model.stages.stage4.cells.cell_11.blocks[4]
    assert 0 < first.drop_left.p < last.drop_left.p == pytest.approx(0.3)
    assert isinstance(last.drop_right, torch.nn.Identity)  # h[i-1] as it is


# timm's cells of nasnetalarge next to ours at toy widths: (timm class, its kwargs, our
# Cell kwargs, (h1, h2) input shapes). The full network's twin test is in test_twins.py
# (slow: 89M parameters).
CELL_TWINS = [
    (
        "CellStem0",
        dict(stem_size=12, num_channels=8),
        dict(table=NASNET_A_REDUCTION, width=8, h1_channels=12, h2_channels=12, h2_adjust="none"),
        ((12, 10), (12, 10)),
    ),
    (
        "CellStem1",
        dict(stem_size=12, num_channels=8),
        dict(
            table=NASNET_A_REDUCTION,
            width=8,
            h1_channels=16,
            h2_channels=12,
            h2_adjust="factorized",
        ),
        ((16, 5), (12, 10)),
    ),
    (
        "FirstCell",
        dict(in_chs_left=16, out_chs_left=4, in_chs_right=24, out_chs_right=8),
        dict(
            table=NASNET_A_NORMAL, width=8, h1_channels=24, h2_channels=16, h2_adjust="factorized"
        ),
        ((24, 4), (16, 7)),
    ),
    (
        "NormalCell",
        dict(in_chs_left=24, out_chs_left=8, in_chs_right=24, out_chs_right=8),
        dict(table=NASNET_A_NORMAL, width=8, h1_channels=24, h2_channels=24, h2_adjust="1x1"),
        ((24, 6), (24, 6)),
    ),
    (
        "ReductionCell0",
        dict(in_chs_left=24, out_chs_left=8, in_chs_right=24, out_chs_right=8),
        dict(table=NASNET_A_REDUCTION, width=8, h1_channels=24, h2_channels=24, h2_adjust="1x1"),
        ((24, 6), (24, 6)),
    ),
]


@pytest.mark.parametrize(
    ("timm_cell", "theirs", "ours", "inputs"),
    [pytest.param(*case, id=case[0]) for case in CELL_TWINS],
)
def test_each_cell_matches_timms(timm_cell, theirs, ours, inputs):
    from timm.models import nasnet as timm_nasnet

    reference = getattr(timm_nasnet, timm_cell)(**theirs, pad_type="same").eval()
    reduction = ours["table"] is NASNET_A_REDUCTION
    cell = Cell(**ours, reduction=reduction).eval()
    state = {k: _random_like(k, v) for k, v in reference.state_dict().items()}
    reference.load_state_dict(state)
    twin = convzoo.model_card("nasnet_a_large").twins[0]
    prefix = "stages.stage2.cells.cell_0."
    renamed = map_state_dict({f"cell_0.{k}": v for k, v in state.items()}, twin)
    cell.load_state_dict({k.removeprefix(prefix): v for k, v in renamed.items()})
    h1, h2 = (torch.randn(2, c, side, side) for c, side in inputs)
    if timm_cell == "CellStem0":  # the first cell reads the stem conv as both inputs
        h2, args = h1, (h1,)
    else:  # timm's argument order: (h[i-1], h[i-2]), but (conv0, cell_stem_0) for CellStem1
        args = (h2, h1) if timm_cell == "CellStem1" else (h1, h2)
    with torch.no_grad():
        ours, expected = cell(h1, h2), reference(*args)
    assert ours.shape == expected.shape
    assert (ours - expected).abs().max() <= 1e-5 * expected.abs().max()


def _random_like(key, tensor):
    """Random weights and statistics, so a batch norm loaded into the wrong place shows."""
    if "num_batches_tracked" in key:
        return tensor
    return torch.rand_like(tensor) + 0.5 if "running_var" in key else torch.randn_like(tensor)
