"""Twin equivalence: where torchvision or timm builds the same network, our model
loads the twin's (randomly initialised) state dict and gives the same outputs."""

import pytest
import torch

import convzoo
from convzoo.interop import load_reference_weights
from tests.helpers import heavy

TWINS = [
    pytest.param(
        name,
        twin,
        id=f"{name}-{twin}" + "".join(f"-{k}={v}" for k, v in twin.kwargs.items()),
        marks=pytest.mark.slow if heavy(name) else (),
    )
    for name in convzoo.list_models()
    for twin in convzoo.model_card(name).twins
]


@pytest.mark.parametrize(("name", "twin"), TWINS)
def test_twin_outputs_match(name, twin):
    reference = twin.build().eval()
    model = convzoo.create_model(name, **twin_overrides(twin)).eval()
    load_reference_weights(model, reference.state_dict(), twin.source, twin_name=twin.name)
    x = twin_input(model)
    with torch.no_grad():
        ours, theirs = model(x), reference(x)
    assert ours.shape == theirs.shape
    assert (ours - theirs).abs().max().item() <= 1e-5
    n_ours = sum(p.numel() for p in model.parameters())
    assert n_ours == sum(p.numel() for p in reference.parameters())


def twin_input(model):
    """A modest input: the fixed size if the network has one, else >= 64 px (fast, and the
    twins' adaptive pools are exercised rather than being identities)."""
    if model.fixed_input_size:
        return torch.randn(1, model.in_channels, *model.default_input_size)
    side = max(model.min_input_size, 64)
    return torch.randn(1, model.in_channels, side, side)


def twin_overrides(twin):
    """Our constructor arguments that mirror the twin's (e.g. aux_logits=False)."""
    return {k: v for k, v in twin.kwargs.items() if k in ("aux_logits",)}


def test_strict_loading_names_what_does_not_fit():
    model = convzoo.create_model("vgg11")
    state = convzoo.model_card("vgg11").twins[0].build().state_dict()
    state.pop("classifier.6.bias")
    state["features.0.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"missing \(1\): head.fc.bias") as err:
        load_reference_weights(model, state, "torchvision")
    assert "stages.conv1.0.conv.weight: expected (64, 3, 3, 3), got (1,)" in str(err.value)


def test_no_twin_raises():
    with pytest.raises(ValueError, match="no timm twin"):
        load_reference_weights(convzoo.create_model("vgg11"), {}, "timm")


def test_weights_file_in_either_layout(tmp_path):
    reference = convzoo.model_card("vgg11").twins[0].build()
    torch.save(reference.state_dict(), tmp_path / "tv.pth")
    model = convzoo.create_model("vgg11", weights=tmp_path / "tv.pth")
    torch.save(model.state_dict(), tmp_path / "ours.pth")
    again = convzoo.create_model("vgg11", weights=tmp_path / "ours.pth")
    assert torch.equal(again.head.fc.weight, reference.classifier[6].weight)
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="is not a PyTorch file"):
        convzoo.create_model("vgg11", weights=tmp_path / "bad.pth")
