"""Screenshots of the explorer for the README: docs/figures/explorer-*.png.

Starts `convzoo serve`'s app on a free local port and photographs the main pages with
headless Chromium (Debian's chromium + chromium-driver):

    python docs/make_screenshots.py [--runs RUN_DIR]
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from convzoo.web import create_app

FIGURES = Path(__file__).parent / "figures"
PAGES = {  # file name -> (path, element to click first or None)
    "explorer-index": ("/", None),
    "explorer-model": ("/models/resnet50", "tr.rf-row:nth-of-type(8)"),
    "explorer-compare": ("/compare?x=macs&y=top1", None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="*", default=[])
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(args.runs), host="127.0.0.1", port=port, log_level="error")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(300)
    pages = dict(PAGES)
    if args.runs:
        pages["explorer-try"] = ("/try", None)
    try:
        for name, (path, click) in pages.items():
            driver.get(f"http://127.0.0.1:{port}{path}")
            if click:
                driver.find_element(By.CSS_SELECTOR, click).click()
                driver.execute_script(
                    "window.scrollTo(0, document.getElementById('rf').offsetTop - 60)"
                )
            if name == "explorer-try":  # draw a stroke and ask for the top-k
                pad = driver.find_element(By.ID, "pad")
                ActionChains(driver).move_to_element_with_offset(
                    pad, 0, -70
                ).click_and_hold().move_by_offset(0, 140).release().perform()
                driver.find_element(By.ID, "predict").click()
                while not driver.find_elements(By.CSS_SELECTOR, "#maps img"):
                    time.sleep(0.1)
            FIGURES.mkdir(exist_ok=True)
            driver.save_screenshot(str(FIGURES / f"{name}.png"))
            print(FIGURES / f"{name}.png")
    finally:
        driver.quit()
        server.should_exit = True


if __name__ == "__main__":
    main()
