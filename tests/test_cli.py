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


@pytest.fixture
def terminal_80(monkeypatch):
    """A colourless 80-column terminal for every verb's console; returns its text."""
    import io
    import sys

    from rich.console import Console

    buffer = io.StringIO()
    term = Console(width=80, force_terminal=True, color_system=None, file=buffer)
    for name, module in list(sys.modules.items()):
        if name.startswith("convzoo.cli") and hasattr(module, "console"):
            monkeypatch.setattr(module, "console", term)
    return buffer


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["info", "googlenet"],
        ["info", "resnet50", "--depth", "3"],
        ["compare", "--family", "resnet"],
        ["cost", "--in", "64", "--size", "56"],
        ["rf", "3x3", "3x3"],
    ],
)
def test_tables_fit_80_columns(argv, terminal_80, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CONVZOO_CACHE", str(tmp_path))
    assert main(argv) == 0
    lines = terminal_80.getvalue().splitlines()
    assert lines and max(len(line) for line in lines) <= 80
    if argv == ["list"]:  # one line per model, names whole
        assert len(lines) < 120 and any(line.startswith(" resnet101 ") for line in lines)
    if argv[:2] == ["info", "googlenet"]:
        names = [line.split()[0] for line in lines if line.startswith(" stages.")]
        assert "stages.inception4.4a.branch_pool.proj.conv" in names  # never cut
        assert "left out for width" in terminal_80.getvalue()


def test_piped_output_is_plain_text(capsys):
    assert main(["info", "resnet50"]) == 0  # capsys: not a terminal
    out = capsys.readouterr().out
    assert not any(ch in out for ch in "│┃━─\x1b")
    # every column, one row per line, in dataflow order
    row = next(line for line in out.splitlines() if line.startswith("stem.conv1.conv "))
    assert row.split()[:4] == ["stem.conv1.conv", "Conv2d", "64x112x112", "9,408"]


def test_eval_finds_the_data_where_training_did(tmp_path, capsys, monkeypatch):
    from convzoo.data import files as files_mod
    from tests.data.test_data import write_mnist_like

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CONVZOO_DATA", raising=False)
    monkeypatch.setattr(files_mod, "SYSTEM_DIRS", (tmp_path / "system",))
    write_mnist_like(tmp_path / "mine", n_train=32, n_test=16)
    run = tmp_path / "run"
    args = ["--epochs", "1", "--batch-size", "16", "--no-progress", "--no-tensorboard"]
    data = ["--dataset", "fashion-mnist", "--data-dir", str(tmp_path / "mine"), "--no-download"]
    assert main(["train", "lenet5", *data, *args, "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--no-download", "--json"]) == 0  # no --data-dir again
    assert json.loads(capsys.readouterr().out)["images"] == 16
