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


def test_unknown_model_is_a_clear_error(capsys):
    assert main(["info", "vgg17"]) == 2
    assert "did you mean" in capsys.readouterr().err


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["info", "--help"])
    assert "example:" in capsys.readouterr().out
