"""The model contract, checked over every registered network."""

import importlib
import math

import pytest
import torch
from torch import nn

import convzoo
from convzoo.models.base import ConvNet
from convzoo.train.engine import compute_loss
from convzoo.train.optim import build_optimizer
from tests.helpers import heavy, logits_of, small_input

ALL = convzoo.list_models()
CLASSIFIERS = [n for n in ALL if convzoo.model_card(n).task == "classification"]


TRAIN_STEP = [
    pytest.param(name, "cpu", marks=pytest.mark.slow if heavy(name) else (), id=f"{name}-cpu")
    for name in ALL
] + [pytest.param(name, "meta", id=f"{name}-meta") for name in ALL if heavy(name)]


@pytest.mark.parametrize(("name", "device"), TRAIN_STEP)
def test_one_training_step_every_parameter_gets_a_gradient(name, device):
    """The step `convzoo train` takes: forward in train mode, the engine's loss (main and
    weighted auxiliary heads), backward, the engine's optimizer."""
    with torch.device(device):
        model = convzoo.create_model(name, num_classes=7)
    assert isinstance(model, ConvNet)
    model.train()
    x = small_input(model).to(device)
    output = model(x)
    logits = logits_of(output)
    assert all(o.shape[:2] == (2, 7) for o in logits)
    labels = torch.randint(0, 7, (2, *logits[0].shape[2:]), device=device)  # U-Net: per pixel
    loss, main = compute_loss(output, labels, nn.CrossEntropyLoss(), model)
    assert main is logits[0]
    optimizer = build_optimizer(model, "sgd", lr=0.1, weight_decay=5e-4)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        if device == "cpu":  # meta tensors carry shapes, not values
            assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"
    before = model.head.fc.weight.detach().clone()
    optimizer.step()
    if device == "cpu":
        assert torch.isfinite(loss) and all(torch.isfinite(o).all() for o in logits)
        assert not torch.equal(model.head.fc.weight, before), "the step changed no weight"


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_contract_surface(name):
    with torch.device("meta"):
        model = convzoo.create_model(name)
    for attr in (
        "stem",
        "stages",
        "head",
        "feature_info",
        "num_classes",
        "in_channels",
        "default_input_size",
    ):
        assert hasattr(model, attr), attr
    info = model.feature_info
    assert info[0].name == "stem" and len(info) == len(model.stages) + 1
    assert [i.stride for i in info] == sorted(i.stride for i in info)
    model.reset_classifier(3)
    assert model.num_classes == 3
    assert model.head.fc.weight.shape[0] == 3


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_bad_input_raises_our_error(name):
    with torch.device("meta"):
        model = convzoo.create_model(name)
    h, w = model.default_input_size
    with pytest.raises(ValueError, match=rf"{name} expects input \(N, {model.in_channels}"):
        model(torch.empty(1, model.in_channels + 1, h, w, device="meta"))
    too_small = model.min_input_size - 1 if not model.fixed_input_size else h - 1
    with pytest.raises(ValueError, match=f"{name} expects input"):
        model(torch.empty(1, model.in_channels, too_small, too_small, device="meta"))
    with pytest.raises(ValueError, match=f"{name} expects input"):
        model(torch.empty(model.in_channels, h, w, device="meta"))


@pytest.mark.parametrize("name", ALL)
def test_card_is_complete_and_cited_in_the_family_module(name):
    card = convzoo.model_card(name)
    assert card.title and card.authors and card.table and card.family
    assert 1989 <= card.year <= 2030
    builder = convzoo.registry.get_builder(name)
    module_doc = importlib.import_module(builder.__module__).__doc__ or ""
    citation = card.arxiv or card.citation
    assert citation in module_doc, f"{builder.__module__} docstring does not cite {citation}"
    assert str(card.year) in module_doc


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_features_only_gives_the_maps_feature_info_lists(name):
    with torch.device("meta"):
        backbone = convzoo.create_model(name, features_only=True)
    model = backbone.model
    h, w = model.default_input_size
    features = backbone(torch.empty(1, model.in_channels, h, w, device="meta"))
    assert len(features) == len(backbone.feature_info)
    for feature, info in zip(features, backbone.feature_info, strict=True):
        assert feature.shape[1] == info.channels, info
        # padding rounds sizes up, valid convolutions shrink them: never by a factor of 2
        side = feature.shape[-1]
        assert side == 1 or math.ceil(h / (2 * info.stride)) < side, info  # LeNet C5 is 1x1
        assert side <= math.ceil(h / info.stride), info
    assert not list(model.head.parameters()), "the head is dropped: no unused weights"
