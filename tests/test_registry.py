import pytest
import torch
from torch import nn

import convzoo
from convzoo.registry import ModelCard, Reported, accepted_overrides, register


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match=r"did you mean 'vgg16_bn'"):
        convzoo.create_model("vgg16_bm")


def test_unknown_override_lists_accepted():
    with pytest.raises(ValueError, match=r"does not accept colour.*accepted: .*batch_norm"):
        convzoo.create_model("vgg16", colour="red")


def test_overrides_are_applied():
    model = convzoo.create_model("vgg11", num_classes=10, in_channels=1)
    assert model.head.fc.out_features == 10
    assert model.num_classes == 10
    assert model.stages.conv1[0].conv.in_channels == 1
    assert "dropout" in accepted_overrides("vgg11")
    assert "config" not in accepted_overrides("vgg11")  # passed positionally by the builder


def test_duplicate_registration_raises():
    card = convzoo.model_card("vgg16")
    with pytest.raises(ValueError, match="already registered"):
        register(card)(lambda **kw: nn.Identity())


def test_card_validation():
    with pytest.raises(ValueError, match="key ideas"):
        ModelCard(
            name="x",
            family="f",
            title="t",
            authors="a",
            year=2000,
            arxiv="1",
            table="T1",
            key_ideas=("one",),
            input_size=(3, 32, 32),
        )
    with pytest.raises(ValueError, match="arXiv id or a citation"):
        ModelCard(
            name="x",
            family="f",
            title="t",
            authors="a",
            year=2000,
            arxiv=None,
            table="T1",
            key_ideas=("one", "two"),
            input_size=(3, 32, 32),
        )


@pytest.mark.parametrize(
    ("text", "value", "tolerance"),
    [
        ("25.6M", 25.6e6, 0.05e6),
        ("61,100,840", 61100840, 0.5),
        ("0.27M", 270000, 5000),
        ("138M", 138e6, 0.5e6),
        ("3.8G", 3.8e9, 0.05e9),
    ],
)
def test_reported_numbers(text, value, tolerance):
    reported = Reported(text)
    assert reported.value == pytest.approx(value)
    assert reported.tolerance == pytest.approx(tolerance)
    assert reported.agrees(value + tolerance * 0.99)
    assert not reported.agrees(value + tolerance * 1.01)


def test_reported_rejects_garbage():
    with pytest.raises(ValueError, match="must look like"):
        Reported("about 5 million")


def test_list_models_filters():
    assert "vgg16" in convzoo.list_models("vgg*")
    assert convzoo.list_models(family="vgg") == convzoo.list_models("vgg*")
    assert convzoo.list_models("no_such_*") == []


def test_features_only_returns_stage_maps():
    backbone = convzoo.create_model("vgg11", features_only=True)
    feats = backbone(torch.randn(1, 3, 64, 64))
    assert [f.shape[1] for f in feats] == [i.channels for i in backbone.feature_info]
    assert [64 // f.shape[-1] for f in feats] == [i.stride for i in backbone.feature_info]


def test_every_family_module_is_imported():
    import pkgutil
    import sys

    import convzoo.models

    modules = {m.name for m in pkgutil.iter_modules(convzoo.models.__path__)} - {"base"}
    missing = {m for m in modules if f"convzoo.models.{m}" not in sys.modules}
    assert not missing, f"convzoo/models/__init__.py does not import {sorted(missing)}"


def test_list_models_sorts_numbers_by_value():
    from convzoo.registry import list_models

    names = list_models("resnet*")
    assert names.index("resnet18") < names.index("resnet34") < names.index("resnet101")
    assert names.index("resnet50") < names.index("resnet50_v1_5") < names.index("resnet56")
    assert names[-1] == "resnet1202"
