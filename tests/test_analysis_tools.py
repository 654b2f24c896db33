"""Calculators, compare, charts and diagrams: numbers, valid files, CLI smoke tests."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from convzoo.analysis.calculators import conv_costs, parse_layer, rf_stack
from convzoo.analysis.compare import compare, plot_compare, select_models, sort_rows
from convzoo.analysis.diagram import block_graph
from convzoo.analysis.drawing import render_diagram
from convzoo.cli import main
from tests import toy_models


def test_rf_stack_reproduces_vgg_argument():
    rows = rf_stack(["3x3", "3x3", "3x3"])
    assert [(r.size, r.weights_c2, r.single_conv_c2) for r in rows] == [
        (3, 9, 9),
        (5, 18, 25),
        (7, 27, 49),
    ]


def test_rf_stack_alexnet_2012():
    rows = rf_stack(
        ["conv11s4p2", "pool3s2", "conv5", "pool3s2", "conv3", "conv3", "conv3", "pool3s2"]
    )
    assert rows[-2].size == 163 and rows[-1].size == 195 and rows[-1].jump == 32


def test_parse_layer_errors_are_readable():
    assert parse_layer("conv3d2").dilation == 2 and parse_layer("pool2").stride == 2
    with pytest.raises(ValueError, match="cannot read layer"):
        parse_layer("banana")
    with pytest.raises(ValueError, match="square"):
        parse_layer("3x5")


def test_conv_costs():
    std, dws, grouped, bottleneck = conv_costs(3, 256, 256, 56, groups=32, bottleneck=4)
    assert std.params == 9 * 256 * 256 and std.macs == std.params * 56 * 56
    assert dws.params == 9 * 256 + 256 * 256  # MobileNet eq. (5) without the map size
    assert dws.ratio == pytest.approx(1 / 256 + 1 / 9)  # MobileNet's 1/N + 1/D_K^2
    assert grouped.params == std.params // 32
    assert bottleneck.params == 256 * 64 + 9 * 64 * 64 + 64 * 256  # ResNet's 69,632
    with pytest.raises(ValueError, match="groups=3 must divide"):
        conv_costs(3, 256, 256, 56, groups=3)


def test_compare_and_sort():
    rows = compare(["vgg16", "vgg11"])
    assert [r.depth for r in rows] == [16, 11]
    assert rows[0].params == 138_357_544 and rows[0].rf == 212
    assert [r.name for r in sort_rows(rows, "macs")] == ["vgg11", "vgg16"]
    assert select_models(family="vgg") and select_models(all_models=True)
    with pytest.raises(ValueError, match="--family F or --all"):
        select_models()
    with pytest.raises(ValueError, match="cannot sort"):
        sort_rows(rows, "colour")


def test_plot_is_a_valid_png(tmp_path):
    path = plot_compare(compare(["vgg11", "vgg16", "vgg19_bn"]), tmp_path / "chart.png", y="params")
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size[0] > 800


def test_block_graph_collapses_repeats_and_keeps_the_flow():
    graph = block_graph("vgg16")
    labels = " ".join(b.label for b in graph.boxes.values())
    assert "(x3)" in labels and "maxpool" in labels
    # a single chain: every box but the input has exactly one incoming edge
    incoming = {}
    for _src, dst in graph.edges:
        incoming[dst] = incoming.get(dst, 0) + 1
    assert set(incoming.values()) == {1}


def test_diagram_svg_parses_and_png_decodes(tmp_path):
    # the default engine needs no system program (no Graphviz `dot` installed)
    svg = render_diagram("vgg11", tmp_path / "vgg11.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert "512x7x7" in svg.read_text()  # output shapes in the boxes
    png = render_diagram("vgg11", tmp_path / "vgg11.png")
    with Image.open(png) as image:
        image.verify()
    with pytest.raises(ValueError, match=r"\.svg.*got 'x\.jpg'"):
        render_diagram("vgg11", tmp_path / "x.jpg")


def _svg_nodes(path):
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.parse(path).getroot()
    return root.findall(".//s:g[@class='node']", ns), root.findall(".//s:path[@class='edge']", ns)


def _overlap(a, b):
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def test_diagram_googlenet_svg_has_every_box_and_the_aux_heads(tmp_path):
    from convzoo.analysis.layout import layout_graph

    graph = block_graph("googlenet")
    svg = render_diagram("googlenet", tmp_path / "g.svg")
    nodes, edges = _svg_nodes(svg)
    assert len(nodes) == len(graph.boxes) and len(edges) == len(graph.edges)
    concats = [b for b in graph.boxes.values() if b.label == "concat"]
    assert len(concats) == 9  # 3a-3b, 4a-4e, 5a-5b: nine Inception modules
    aux = [b for b in graph.boxes.values() if b.kind == "aux"]
    assert {b.key.split(".")[1] for b in aux} == {"4a", "4d"}  # the paper's Figure 3
    assert "training only" in svg.read_text()
    lay = layout_graph(graph)
    rects = list(lay.boxes.values())
    assert not any(_overlap(a, b) for i, a in enumerate(rects) for b in rects[i + 1 :])
    for name, rect in lay.clusters.items():  # every box inside its cluster's frame
        for key, box in lay.boxes.items():
            if graph.boxes[key].cluster == name:
                assert rect.x <= box.x and box.x + box.w <= rect.x + rect.w


def test_diagram_json_and_dot_engine(tmp_path, capsys, monkeypatch):
    import convzoo.analysis.drawing as drawing

    assert main(["diagram", "resnet18", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    ids = {n["id"] for n in data["nodes"]}
    assert {"input", "output"} <= ids and all(e["from"] in ids for e in data["edges"])
    monkeypatch.setattr(drawing.shutil, "which", lambda _name: None)
    assert main(["diagram", "vgg11", "-o", str(tmp_path / "x.svg"), "--engine", "dot"]) == 2
    assert "Graphviz" in capsys.readouterr().err


def test_cli_rf_and_cost(capsys):
    assert main(["rf", "3x3", "3x3"]) == 0
    out = capsys.readouterr().out
    assert "18C^2" in out and "25C^2" in out
    assert main(["rf", "--stack", "conv3,conv3,conv3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[-1]["size"] == 7
    assert main(["cost", "--kernel", "3", "--in", "32", "--size", "8", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data][:2] == ["standard", "depthwise separable"]
    assert main(["cost", "--size", "7x9", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("| design")


def test_cli_compare_formats(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CONVZOO_CACHE", str(tmp_path / "cache"))
    assert main(["compare", "vgg11", "vgg13", "--sort", "params", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("model,family,year") and len(lines) == 3
    assert main(["compare", "--family", "vgg", "--json"]) == 0
    assert {r["name"] for r in json.loads(capsys.readouterr().out)} >= {"vgg16"}
    assert main(["compare", "vgg11", "--markdown"]) == 0
    assert "| vgg11 |" in capsys.readouterr().out
    assert main(["compare", "vgg11", "vgg16", "--plot", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").stat().st_size > 10_000


def test_cli_info_formats(capsys):
    assert main(["info", "vgg11", "--input-size", "32", "--depth", "2", "--csv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("layer,type,output") and "stages.conv5" in out
    assert main(["info", "vgg16", "--depth", "blocks", "--markdown"]) == 0
    assert "stages.conv5.0-2 x3" in capsys.readouterr().out
    assert main(["info", "vgg11", "--input-size", "32", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["uncounted"] == {}
    assert data["memory"]["per_sample_saved_bytes"] > 0


@pytest.mark.parametrize("verb", ["rf", "cost", "compare", "diagram", "info"])
def test_help_has_an_example(verb, capsys):
    with pytest.raises(SystemExit):
        main([verb, "--help"])
    assert "example:" in capsys.readouterr().out


def _graph(model):
    graph = block_graph(model)
    into: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        into.setdefault(dst, []).append(src)
    return graph, into


def test_diagram_residual_skips_are_arrows():
    graph, into = _graph(toy_models.ToyResNet())
    adds = [k for k, b in graph.boxes.items() if b.label == "+"]
    assert len(adds) == 4  # blocks 0 and 1-2 (x2) of conv2_x, 0 and 1-3 (x3) of conv3_x
    assert all(len(into[a]) == 2 for a in adds)  # main path + skip
    labels = [c for c in graph.clusters.values()]
    assert any("1-3  (x3)" in c for c in labels) and any("1-2  (x2)" in c for c in labels)


def test_diagram_inception_branches_side_by_side():
    graph, into = _graph(toy_models.ToyInception())
    concat = [k for k, b in graph.boxes.items() if b.label == "concat"]
    assert len(concat) == 1 and len(into[concat[0]]) == 4  # two modules drawn once, x2
    assert sum(1 for src, _ in graph.edges if src == "stem") == 4  # fan-out to 4 branches


def test_diagram_dense_and_unet(tmp_path):
    graph, _ = _graph(toy_models.ToyDense())
    assert any("denselayer1-4  (x4)" in b.label for b in graph.boxes.values())
    graph, _ = _graph(toy_models.ToyUNet())
    assert len(graph.same_rank) == 2  # each decoder level aligned with its encoder level
    svg = render_diagram(toy_models.ToyUNet(), tmp_path / "unet.svg")
    ET.parse(svg)


def test_cli_info_measure(capsys):
    assert main(["info", "lenet5", "--measure", "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "measured (CPU, batch 4)" in out and "(+0.0%)" in out


def test_compare_cache_round_trip(tmp_path):
    first = compare(["vgg11", "lenet5"], cache_dir=tmp_path)
    (cache_file,) = tmp_path.glob("compare-*.json")
    assert json.loads(cache_file.read_text())["vgg11"]["depth"] == 11
    assert compare(["lenet5", "vgg11"], cache_dir=tmp_path) == first[::-1]


@pytest.mark.parametrize("name", ["vgg16", "resnet50", "unet", "densenet121"])
def test_totals_only_summary_agrees(name):
    from convzoo.analysis.summary import summary

    full, quick = summary(name), summary(name, rows=False)
    assert quick.rows == []
    for key in ("total_params", "total_macs", "depth", "activation_bytes", "feature_rf"):
        assert getattr(quick, key) == getattr(full, key)


def test_compare_chart_families_in_one_order_and_si_ticks(tmp_path):
    from convzoo.analysis.compare import family_colours, family_order, si_formatter

    rows = compare(["resnet18", "vgg11", "lenet5", "mobilenet_v2", "alexnet"])
    order = family_order(rows)
    assert order == ["lenet", "alexnet", "vgg", "resnet", "mobilenet"]  # by first year
    colours = family_colours(order)
    assert len(set(colours.values())) == len(order)
    fmt = si_formatter()
    assert [fmt(v, 0) for v in (3e8, 1e9, 2e4, 5)] == ["300M", "1G", "20K", "5"]
    path = plot_compare(rows, tmp_path / "c.png", y="params")
    with Image.open(path) as image:
        image.verify()


def test_rf_share_is_never_zero_percent_and_cost_help_shows_defaults(capsys):
    from convzoo.cli.receptive_field import _percent

    assert [_percent(r) for r in (173 / 38025, 0.0296, 0.55)] == ["0.45%", "3%", "55%"]
    with pytest.raises(SystemExit):
        main(["cost", "--help"])
    out = capsys.readouterr().out
    assert "(default: 256)" in out and "(default: 56)" in out
