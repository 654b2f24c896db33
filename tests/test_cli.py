import json

import pytest

from convzoo.cli import main


def test_list(capsys):
    assert main(["list", "vgg1*"]) == 0
    out = capsys.readouterr().out
    assert "vgg16_bn" in out and "vgg19" in out


def test_list_json(capsys):
    assert main(["list", "--family", "vgg", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"vgg11", "vgg16_c"}


def test_info_table(capsys):
    assert main(["info", "vgg16"]) == 0
    out = capsys.readouterr().out
    assert "138,357,544" in out and "Simonyan" in out and "stages.conv5" in out


def test_info_json(capsys):
    assert main(["info", "vgg11", "--json", "--input-size", "32", "--num-classes", "10"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["card"]["arxiv"] == "1409.1556"
    assert data["summary"]["output_shape"] == [1, 10]


def test_info_shows_the_paper_recipe_and_accuracy(capsys):
    assert main(["info", "alexnet_v2", "--input-size", "224", "--batch-size", "1"]) == 0
    out = capsys.readouterr().out
    assert "Paper recipe" in out and "not stated" in out  # its lr is not transcribed
    assert "Paper accuracy: - (the paper reports errors of its parallel" in out
    assert main(["info", "resnet50", "--json", "--input-size", "64"]) == 0
    card = json.loads(capsys.readouterr().out)["card"]
    assert card["recipe"]["optimizer"] == "sgd" and card["recipe"]["lr"] == 0.1
    assert card["recipe"]["schedule"]["text"] == "x0.1 when validation error plateaus"
    assert card["accuracy"] == {
        "top1": 77.15,
        "top5": 93.29,
        "source": "Table 3",
        "protocol": "10-crop (Section 3.4)",
        "dataset": "ImageNet val",
        "note": "",
    }
    assert card["paper_top1"] == 77.15 and card["title"].startswith("Deep Residual")


def test_unknown_model_is_a_clear_error(capsys):
    assert main(["info", "vgg17"]) == 2
    assert "did you mean" in capsys.readouterr().err


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["info", "--help"])
    assert "example:" in capsys.readouterr().out
