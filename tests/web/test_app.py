"""The explorer's pages and JSON API through starlette's TestClient."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from starlette.testclient import TestClient

from convzoo import list_models
from convzoo.cli import main
from convzoo.web import create_app, write_site
from convzoo.web.predict import MAX_PIXELS, MAX_UPLOAD_BYTES

RUN = "runs-lenet5-synthetic"


@pytest.fixture(scope="module")
def client(run_dir):
    return TestClient(create_app([run_dir]))


def _png(size=(28, 28), colour=255) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_index_lists_every_registered_model(client):
    page = client.get("/")
    assert page.status_code == 200
    names = list_models()
    assert len(names) >= 104
    for name in names:
        assert f'data-name="{name}"' in page.text
    api = client.get("/api/models").json()
    assert sorted(r["name"] for r in api) == sorted(names)


def test_model_page_shows_the_exact_parameter_count(client):
    page = client.get("/models/resnet50")
    assert page.status_code == 200
    assert '<b id="total-params">25,557,032</b>' in page.text
    assert "<svg" in page.text and "rf-row" in page.text  # diagram and receptive-field rows
    assert "Paper recipe" in page.text and "Paper accuracy: top-1" in page.text
    data = client.get("/api/models/resnet50").json()
    assert data["summary"]["total_params"] == 25_557_032
    assert data["card"]["family"] == "resnet"


def test_unknown_model_and_run_are_404_pages(client):
    for url in ("/models/resnet5000", "/runs/nope", "/reports/nope", "/nothing/here"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Not found" in response.text and "Traceback" not in response.text
    assert "did you mean" in client.get("/models/resnet5").text
    assert client.get("/api/models/resnet5000").json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "lenet5-synthetic/../../../etc/passwd",
        "lenet5-synthetic/best.pt",  # checkpoints are never served
        "outside/passwd",  # a symlink out of the run folder
    ],
)
def test_only_files_inside_the_run_dirs_are_served(client, run_dir, path):
    link = run_dir / "outside"
    if not link.exists():
        link.symlink_to("/etc")
    assert client.get(f"/files/runs/{path}").status_code == 404
    assert client.get(f"/files/{path}").status_code == 404


def test_run_page_and_its_pictures(client):
    page = client.get(f"/runs/{RUN}")
    assert page.status_code == 200 and "lenet5" in page.text
    assert 'id="erf-layer" value="stages.c1.conv"' in page.text
    picture = client.get("/files/runs/lenet5-synthetic/curves.png")
    assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"
    run = client.get(f"/api/runs/{RUN}").json()
    assert run["config"]["model"] == "lenet5" and len(run["metrics"]) == 1


def test_report_is_rendered_with_html_escaped(client):
    page = client.get(f"/reports/{RUN}").text
    assert "<em>claim</em>" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert 'src="/files/runs/lenet5-synthetic/curves.png"' in page
    (report,) = client.get("/api/reports").json()
    assert report["path"] == "lenet5-synthetic/report.md" and report["url"] == f"/reports/{RUN}"


def test_compare_chart_has_a_point_per_model(client):
    page = client.get("/compare?models=resnet50,vgg16,alexnet&x=params&y=top1").text
    assert page.count('class="point"') == 3
    assert "resnet50 (resnet, 2015)" in page  # the hover title
    assert client.get("/compare?models=nope").status_code == 404


def test_prediction_on_a_drawn_digit(client):
    response = client.post(f"/api/runs/{RUN}/predict?top_k=3", content=_png())
    assert response.status_code == 200, response.text
    result = response.json()
    classes = [p["class"] for p in result["predictions"]]
    assert len(classes) == 3 and set(classes) <= {"class0", "class1", "class2", "class3"}
    probabilities = [p["probability"] for p in result["predictions"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0 < sum(probabilities) <= 1 + 1e-6
    assert result["feature_maps"][0].startswith("data:image/png;base64,")


def test_uploads_are_limited_and_must_be_images(client):
    url = f"/api/runs/{RUN}/predict"
    assert client.post(url, content=b"x" * (MAX_UPLOAD_BYTES + 1)).status_code == 413
    refused = client.post(url, content=b"\x80\x04\x95 not an image, maybe a pickle")
    assert refused.status_code == 400 and "not an image" in refused.json()["error"]
    side = int(MAX_PIXELS**0.5) + 1
    huge = client.post(url, content=_png((side, side), 0))
    assert huge.status_code == 400 and "pixels" in huge.json()["error"]
    assert client.post("/api/runs/nope/predict", content=_png()).status_code == 404


def test_static_site(tmp_path, run_dir):
    written = write_site(tmp_path / "site", [run_dir], models=["lenet5"])
    assert (tmp_path / "site" / "models" / "lenet5.html") in written
    index = (tmp_path / "site" / "index.html").read_text()
    assert 'href="models/lenet5.html"' in index
    model = (tmp_path / "site" / "models" / "lenet5.html").read_text()
    assert 'href="../static/style.css"' in model
    assert (tmp_path / "site" / "files" / "runs" / "lenet5-synthetic" / "curves.png").is_file()
    assert not list((tmp_path / "site").rglob("*.pt"))
    assert "convzoo serve" in (tmp_path / "site" / "try.html").read_text()


def test_cli_site_and_serve_help(tmp_path, capsys):
    assert main(["site", str(tmp_path / "out"), "--models", "lenet5"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["serve", "--runs", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["serve", "--host", "0.0.0.0", "--runs", str(tmp_path / "missing")]) == 2
    assert "warning: binding 0.0.0.0" in capsys.readouterr().err


def test_effective_field_of_a_trained_checkpoint(client):
    url = f"/api/runs/{RUN}/effective-field"
    first = client.get(url, params={"layer": "stages.c1.conv"}).json()
    assert first["png"].startswith("data:image/png;base64,")
    deeper = client.get(url, params={"layer": "stages.c3"}).json()
    # a 5x5 convolution sees at most 5x5 pixels; after a pool and another 5x5, more
    assert 1 <= first["extent_1pct"][0] <= 5
    assert deeper["extent_1pct"][0] > first["extent_1pct"][0]
    assert client.get(url, params={"layer": "nope"}).status_code == 400
