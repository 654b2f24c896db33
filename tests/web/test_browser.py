"""The explorer in a real browser: uvicorn on a free local port, headless Chromium.

Needs Debian's `chromium` and `chromium-driver` (installed by .ci/run) and selenium.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest

from convzoo import list_models

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is not installed (serve extra)")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no headless browser: apt-get install chromium chromium-driver",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(run_dir):
    from convzoo.web import create_app

    port = _free_port()
    config = uvicorn.Config(create_app([run_dir]), host="127.0.0.1", port=port, log_level="error")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert instance.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def _wait(predicate, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting in the browser")


def test_index_lists_every_model_and_filters(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    rows = browser.find_elements(By.CSS_SELECTOR, "#models tbody tr")
    assert sorted(r.get_attribute("data-name") for r in rows) == sorted(list_models())
    browser.find_element(By.ID, "filter").send_keys("resnet50")
    shown = [r for r in rows if r.is_displayed()]
    assert {r.get_attribute("data-name") for r in shown} >= {"resnet50"}
    assert len(shown) < len(rows)


def test_model_page_count_and_receptive_field(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server + "/models/resnet50")
    assert browser.find_element(By.ID, "total-params").text == "25,557,032"
    browser.find_elements(By.CSS_SELECTOR, "tr.rf-row")[3].click()
    assert "sees" in browser.find_element(By.ID, "rf-text").text
    assert browser.find_elements(By.CSS_SELECTOR, "#rf-input rect")


def test_compare_chart_renders_and_ticks_hide_points(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server + "/compare?models=resnet50,vgg16,alexnet,mobilenet_v2")
    points = browser.find_elements(By.CSS_SELECTOR, "#chart circle.point")
    assert len(points) == 4 and all(p.size["width"] > 0 for p in points)
    browser.find_element(By.CSS_SELECTOR, 'input.pick[value="vgg16"]').click()
    hidden = browser.find_element(By.CSS_SELECTOR, 'circle.point[data-model="vgg16"]')
    assert not hidden.is_displayed()


def test_drawing_pad_returns_a_prediction(server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    browser.get(server + "/try")
    pad = browser.find_element(By.ID, "pad")
    ActionChains(browser).move_to_element_with_offset(
        pad, -40, -60
    ).click_and_hold().move_by_offset(40, 120).release().perform()
    browser.find_element(By.ID, "predict").click()
    items = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#top li"))
    assert len(items) == 4 and items[0].text.startswith("class")  # 4 classes, top 5 asked
    assert browser.find_elements(By.CSS_SELECTOR, "#maps img")


def test_traversal_gets_404(server, browser):
    from selenium.webdriver.common.by import By

    for path in ("/files/runs/..%2F..%2F..%2Fetc%2Fpasswd", "/files/runs/%2Fetc%2Fpasswd"):
        browser.get(server + path)
        assert "Not found" in browser.find_element(By.TAG_NAME, "h1").text
        assert "root:" not in browser.page_source
