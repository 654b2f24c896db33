import time

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import convzoo
from convzoo.analysis.summary import summary


def test_vgg16_totals_match_an_independent_count():
    result = summary("vgg16")
    assert result.total_params == 138_357_544  # == torchvision vgg16
    # conv MACs by hand from Table 1, column D, at 224x224 (same padding, pools halve)
    convs = [
        (224, 3, 64),
        (224, 64, 64),
        (112, 64, 128),
        (112, 128, 128),
        (56, 128, 256),
        (56, 256, 256),
        (56, 256, 256),
        (28, 256, 512),
        (28, 512, 512),
        (28, 512, 512),
        (14, 512, 512),
        (14, 512, 512),
        (14, 512, 512),
    ]
    conv_macs = sum(side * side * 9 * c_in * c_out for side, c_in, c_out in convs)
    fc_macs = 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    assert result.total_macs == conv_macs + fc_macs
    assert result.output_shape == (1, 1000)


def test_macs_agree_with_torch_flop_counter():
    model = convzoo.create_model("vgg11_bn").eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    assert summary(model, 64).total_macs * 2 == counter.get_total_flops()


def test_rows_carry_shapes_and_params():
    result = summary("vgg11", (3, 32, 32))
    rows = {r.name: r for r in result.rows}
    first = rows["stages.conv1.0.conv"]
    assert first.output_shape == (1, 64, 32, 32)
    assert first.params == 3 * 64 * 9 + 64
    assert first.macs == 32 * 32 * 64 * 27
    assert sum(r.params for r in result.rows) == result.total_params


def test_summary_is_fast_and_allocates_nothing():
    start = time.perf_counter()
    result = summary("vgg19")
    assert time.perf_counter() - start < 2.0
    assert result.total_params == 143_667_240  # == torchvision vgg19


def test_summary_of_an_instance_leaves_it_untouched():
    model = convzoo.create_model("vgg11", num_classes=10)
    before = model.head.fc.weight.clone()
    assert summary(model, 32).total_params == sum(p.numel() for p in model.parameters())
    assert model.head.fc.weight.device.type == "cpu"
    assert torch.equal(model.head.fc.weight, before)


def test_summary_rejects_bad_size():
    with pytest.raises(ValueError, match="expects input"):
        summary("vgg11", 16)


def test_summary_of_a_plain_module_with_an_explicit_size():
    from torch import nn

    plain = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(8 * 8 * 8, 4))
    assert summary(plain, (3, 10, 10)).total_macs == 8 * 8 * 8 * 27 + 8 * 8 * 8 * 4


def test_rows_follow_the_dataflow_without_identity_rows():
    names = [r.name for r in summary("resnet50").rows]
    block = "stages.conv2_x.0."
    # torchinfo's order: the main path, then the projection shortcut, then the final act
    assert names.index(block + "conv1.conv") < names.index(block + "shortcut.conv")
    assert names.index(block + "conv3.norm") < names.index(block + "shortcut.conv")
    assert names.index(block + "shortcut.norm") < names.index(block + "act")
    assert all(r.type != "Identity" for r in summary("preact_resnet18").rows)
    # --depth keeps collapsing runs of identical blocks
    collapsed = [r.display_name for r in summary("resnet50", depth=3).rows]
    assert "stages.conv3_x.1-3 x3" in collapsed


def test_auxiliary_heads_have_training_only_rows_that_complete_the_total():
    result = summary("googlenet")
    assert sum(r.params for r in result.rows) == result.total_params == 13_378_280
    aux = [r for r in result.rows if r.training_only]
    assert aux and all(r.name.startswith("aux_heads.") for r in aux)
    assert sum(r.params for r in aux) == 6_379_728  # the two heads of the paper's Figure 3
    names = [r.name for r in result.rows]
    # each head right after the Inception module it hangs from (4a, 4d)
    assert names.index("aux_heads.4a.conv.conv") < names.index(
        "stages.inception4.4b.branch1x1.conv"
    )
    assert result.total_macs == summary("googlenet", rows=False).total_macs  # eval-mode count
    top = summary("googlenet", depth=1).rows
    assert [(r.name, r.training_only) for r in top] == [
        ("stem", False), ("stages", False), ("aux_heads", True), ("head", False)
    ]  # fmt: skip


def test_summary_in_one_thread_leaves_models_built_in_another_initialised():
    """Analysis builds meta models without initialising them; a model built meanwhile in
    another thread (a server answering requests) is initialised exactly as when built alone."""
    import threading

    torch.manual_seed(0)
    reference = convzoo.create_model("resnet18").state_dict()
    done, summaries = threading.Event(), []

    def analyse() -> None:
        while not done.is_set():
            summaries.append(summary("resnet50").total_params)

    worker = threading.Thread(target=analyse)
    worker.start()
    try:
        built = []
        for _ in range(4):
            torch.manual_seed(0)
            built.append(convzoo.create_model("resnet18").state_dict())
    finally:
        done.set()
        worker.join()
    assert summaries, "summary never ran while the models were built"
    for state in built:
        assert all(torch.equal(state[k], v) for k, v in reference.items())
