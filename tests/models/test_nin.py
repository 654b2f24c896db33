"""Network in Network (Lin et al. 2013): mlpconv layers and the global-average-pooling head."""

import torch
from torch import nn

import convzoo
from convzoo.analysis.summary import summary


def test_imagenet_network():
    result = summary("nin")
    # mlpconv1 53,568 + mlpconv2 746,240 + mlpconv3 1,180,800 + mlpconv4 4,589,568
    # + class layer 1,025,000 (the authors' NIN-Imagenet definition)
    assert result.total_params == 7_595_176
    assert result.total_macs == 1_100_188_800  # measured, convzoo.summary at 224x224
    assert result.output_shape == (1, 1000)
    with torch.device("meta"):
        model = convzoo.create_model("nin")
        maps = model.forward_stages(torch.empty(1, 3, 224, 224))
    assert [tuple(x.shape[1:]) for x in maps[1:]] == [
        (96, 27, 27),
        (256, 13, 13),
        (384, 6, 6),
        (1024, 6, 6),  # class maps are 6x6 before global averaging
    ]


def test_cifar_network():
    result = summary("nin_cifar")
    # 14,592 + 30,880 + 15,456 | 460,992 + 37,056 + 37,056 | 331,968 + 37,056 | 1,930
    assert result.total_params == 966_986
    assert result.total_macs == 222_486_528  # measured, convzoo.summary at 32x32
    assert result.output_shape == (1, 10)
    with torch.device("meta"):
        model = convzoo.create_model("nin_cifar")
    # three mlpconv layers; dropout on the outputs of all but the last
    assert list(model.stages.named_children())[-1][0] == "mlpconv3"
    dropouts = [hasattr(stage, "dropout") for stage in model.stages]
    assert dropouts == [True, True, False]
    assert all(isinstance(stage.pool, nn.MaxPool2d) for stage in model.stages[:2])
    assert model.stages.mlpconv1.mlp1.weight.shape == (160, 192, 1, 1)  # 1x1: cross-channel


def test_head_is_a_class_map_layer_and_resets():
    model = convzoo.create_model("nin_cifar")
    assert isinstance(model.head.fc, nn.Conv2d) and model.head.fc.kernel_size == (1, 1)
    assert sum(p.numel() for p in model.head.parameters()) == 192 * 10 + 10
    model.reset_classifier(100)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 100)
    # global average pooling: any input size above the minimum works
    assert model(torch.randn(1, 3, 40, 48)).shape == (1, 100)
