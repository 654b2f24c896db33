import pytest
import torch
from torch import nn

import convzoo
from convzoo.factory import accepted_overrides
from convzoo.registry import (
    Accuracy,
    ModelCard,
    Paper,
    Recipe,
    Reported,
    Schedule,
    register,
)


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


PAPER = Paper(title="t", authors="a", year=2000, arxiv="1")
RECIPE = Recipe(
    source="Section 1",
    optimizer="sgd",
    lr=0.1,
    batch_size=8,
    epochs=1,
    schedule=Schedule("constant"),
)


def _card(**fields) -> ModelCard:
    base = dict(
        name="x",
        family="f",
        paper=PAPER,
        table="T1",
        key_ideas=("one", "two"),
        input_size=(3, 32, 32),
        recipe=RECIPE,
        dataset="CIFAR-10",
    )
    return ModelCard(**{**base, **fields})


def test_card_validation():
    with pytest.raises(ValueError, match="key ideas"):
        _card(key_ideas=("one",))
    with pytest.raises(ValueError, match="arXiv id or a citation"):
        Paper(title="t", authors="a", year=2000)
    with pytest.raises(ValueError, match="accuracy or an accuracy_note"):
        _card(dataset="ImageNet")
    with pytest.raises(ValueError, match="default_recipe and default_reason go together"):
        _card(default_recipe=RECIPE)
    with pytest.raises(ValueError, match="recipe must be a Recipe"):
        _card(recipe={"optimizer": "sgd"})
    card = _card(dataset="ImageNet", accuracy_note="the paper prints none")
    assert card.title == "t" and card.arxiv == "1" and card.paper_top1 is None
    assert card.training_recipe is RECIPE


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"optimizer": "sgdd"}, r"optimizer must be one of sgd, rmsprop"),
        ({"lr": -0.1}, r"lr must be in \(0, 10\], got -0.1"),
        ({"batch_size": 0}, r"batch_size must be a positive integer, got 0"),
        ({"batch_size": 12.5}, r"batch_size must be a positive integer, got 12.5"),
        ({"momentum": 1.5}, r"momentum must be in \[0, 1\], got 1.5"),
        ({"dropout": 1.5, "label_smoothing": -0.1}, r"dropout .* got 1.5; label_smoothing"),
        ({"rmsprop_decay": 0.9}, r"rmsprop_decay is for RMSProp, not 'sgd'"),
        ({"not_stated": ("lr",)}, r"lr is listed as not stated but has a value \(0.1\)"),
        ({"not_stated": ("learning_rate",)}, r"not_stated lists 'learning_rate', which is not"),
        ({"lr": None}, r"lr must be given or listed in not_stated"),
        ({"epochs": None}, r"epochs \(or iterations\) must be given"),
        ({"source": ""}, r"needs a source"),
    ],
)
def test_recipe_rejects_bad_rows(fields, message):
    row = {**RECIPE.__dict__, **fields}
    with pytest.raises(ValueError, match=message):
        Recipe(**row)


def test_recipe_rows_say_what_the_paper_leaves_out():
    recipe = Recipe(
        source="Section 2",
        optimizer="rmsprop",
        rmsprop_decay=0.9,
        schedule=Schedule("exponential", factor=0.94, every=2),
        not_stated=("lr", "batch_size", "epochs"),
    )
    rows = dict(recipe.rows())
    assert rows["lr"] == rows["batch_size"] == "not stated"
    assert rows["schedule"] == "x0.94 every 2 epochs"
    assert rows["source"] == "Section 2"
    assert "dropout" not in rows  # not used, and not claimed to be silent


@pytest.mark.parametrize(
    ("schedule", "text"),
    [
        (Schedule("plateau", factor=0.1), "x0.1 when validation error plateaus"),
        (
            Schedule(
                "step",
                factor=0.1,
                milestones=(32_000, 48_000),
                unit="iteration",
                warmup=400,
                warmup_lr=0.01,
            ),
            "400 iterations warm-up at 0.01, then x0.1 at iterations 32000, 48000",
        ),
        (Schedule("cosine", warmup=20), "20 epochs warm-up linear, then cosine decay"),
        (
            Schedule("piecewise", milestones=(2, 5), values=(5e-4, 2e-4, 1e-4)),
            "0.0005 from epoch 0, 0.0002 from epoch 2, 0.0001 from epoch 5",
        ),
    ],
)
def test_schedule_text(schedule, text):
    assert str(schedule) == text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "triangle"}, r"kind must be one of constant, step"),
        ({"kind": "exponential", "factor": 0.9}, r"exponential schedule needs every > 0"),
        ({"kind": "step", "factor": 1.5, "every": 2}, r"factor must be in \(0, 1\), got 1.5"),
        ({"kind": "step", "factor": 0.1}, r"needs milestones, every, or a note"),
        ({"kind": "piecewise", "milestones": (1,), "values": (1.0,)}, r"one value more"),
        ({"kind": "step", "factor": 0.1, "milestones": (5, 2)}, r"milestones must increase"),
    ],
)
def test_schedule_rejects_bad_rows(fields, message):
    with pytest.raises(ValueError, match=message):
        Schedule(**fields)


def test_accuracy_from_error_and_validation():
    acc = Accuracy.from_error(22.85, 6.71, source="Table 3", protocol="10-crop")
    assert (acc.top1, acc.top5) == (77.15, 93.29)
    assert str(acc) == "top-1 77.15%, top-5 93.29% (ImageNet val, 10-crop; Table 3)"
    with pytest.raises(ValueError, match=r"top1 must be a percentage in \(0, 100\], got 120"):
        Accuracy(top1=120, source="T", protocol="p")
    with pytest.raises(ValueError, match=r"top5 .* cannot be below top1"):
        Accuracy(top1=80, top5=70, source="T", protocol="p")
    with pytest.raises(ValueError, match="needs a top1 or a top5"):
        Accuracy(top1=None, source="T", protocol="p")


def test_every_registered_card_has_a_recipe_and_its_accuracy_or_a_note():
    missing = []
    for name in convzoo.list_models():
        card = convzoo.model_card(name)
        assert isinstance(card.recipe, Recipe) and card.recipe.source, name
        if card.dataset == "ImageNet" and card.task == "classification":
            if card.accuracy is None and not card.accuracy_note:
                missing.append(name)
            if card.accuracy is not None:
                assert card.accuracy.source and card.accuracy.protocol, name
    assert not missing, f"ImageNet cards without accuracy or note: {missing}"


def test_cards_of_one_paper_share_one_record():
    papers = {convzoo.model_card(n).paper for n in convzoo.list_models("resnet*")}
    assert len(papers) == 1
    assert convzoo.model_card("resnet50").paper is convzoo.model_card("resnet20").paper


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


def test_recipes_doc_is_generated_from_the_cards():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "docs" / "make_recipes.py"
    spec = importlib.util.spec_from_file_location("make_recipes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.render()
    assert "| lr | 0.045 |" in text and "not stated" in text
    assert module.OUTPUT.read_text() == text, "run docs/make_recipes.py to refresh docs/recipes.md"


def test_list_models_sorts_numbers_by_value():
    from convzoo.registry import list_models

    names = list_models("resnet*")
    assert names.index("resnet18") < names.index("resnet34") < names.index("resnet101")
    assert names.index("resnet50") < names.index("resnet50_v1_5") < names.index("resnet56")
    assert names[-1] == "resnet1202"
