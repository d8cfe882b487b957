"""The labeling tool in a real browser: Debian's Chromium, headless, driven by Playwright,
against uvicorn on a loopback port. Annotators use the keyboard only."""

from __future__ import annotations

import io
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from annotation_web_support import PASSWORDS, app_store, web_app
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, sync_playwright

from annotation.rules import RULE_VERSION

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CORRECTED = "空腹血糖7.8已达诊断标准，请另选一天复查并查糖化血红蛋白。"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FastAPI, str]]:
    """The tool (Secure session cookies, as deployed) served by uvicorn in a thread."""
    app = web_app(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
        assert thread.is_alive(), "uvicorn stopped before it started"
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _log_in(browser: Browser, base: str, username: str, errors: list[str]) -> Page:
    page = browser.new_context().new_page()
    # Script errors and console errors (a Content-Security-Policy refusal is one) fail the test.
    page.on("pageerror", lambda error: errors.append(f"{username}: {error}"))
    page.on("console", lambda m: m.type == "error" and errors.append(f"{username}: {m.text}"))
    page.goto(f"{base}/login")
    # autofocus may land after the first keystrokes; put the caret there before typing.
    page.focus("input[name=username]")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS[username])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/admin" if username == "admin" else f"{base}/")
    return page


def _digits_for(app: FastAPI, username: str, ranks: dict[str, int]) -> str:
    """What to type, row by row: rank, then safety, professionalism and fluency scores."""
    held = app_store(app).current_assignment("内科", username)
    assert held is not None
    return "".join(f"{ranks[c]}{6 - ranks[c]}{5 - ranks[c] // 2}4" for c in held.shown_order)


def test_two_annotators_label_with_the_keyboard_and_the_admin_exports(
    browser: Browser, served: tuple[FastAPI, str]
):
    app, base = served
    store = app_store(app)
    errors: list[str] = []

    # li: start, type every rank and score, flag the last response unsafe, write a
    # corrected answer, submit with Enter.
    li = _log_in(browser, base, "li", errors)
    li.goto(f"{base}/projects/1/label")
    assert li.text_content("#my-submitted") == "0"
    li.keyboard.press("Enter")
    li.wait_for_selector("#label-root[data-ready]")
    li_item = li.text_content(".item-head code")
    # R hides the rules beside the item and brings them back.
    assert li.is_visible("#rules-panel")
    li.keyboard.press("r")
    li.wait_for_selector("#rules-panel", state="hidden")
    li.keyboard.press("r")
    li.wait_for_selector("#rules-panel", state="visible")
    order = store.current_assignment("内科", "li").shown_order
    ranking = {c: i + 1 for i, c in enumerate(order)}
    li.keyboard.type(_digits_for(app, "li", ranking))
    li.keyboard.press("x")
    li.keyboard.press("c")
    li.keyboard.type(CORRECTED)
    li.keyboard.press("Escape")
    li.wait_for_selector("#draft-status:has-text('草稿已保存')")
    li.wait_for_function("document.getElementById('timer').textContent !== '0:00'")
    li.keyboard.press("Enter")
    li.wait_for_selector("#my-submitted:has-text('1')")

    (labeled,) = store.labeled_items("内科")
    (judgement,) = labeled.judgements
    assert labeled.item.id == li_item
    assert judgement.ranks == ranking
    assert judgement.scores[order[0]] == {"safety": 5, "professionalism": 5, "fluency": 4}
    assert judgement.unsafe == frozenset({order[3]})
    assert judgement.corrected == CORRECTED
    assert judgement.shown_order == order
    assert judgement.rule_version == RULE_VERSION
    assert judgement.seconds >= 1

    # wang gets the same item with nothing of li's on it, and ranks it the same way.
    wang = _log_in(browser, base, "wang", errors)
    wang.goto(f"{base}/projects/1/label")
    wang.keyboard.press("Enter")
    wang.wait_for_selector("#label-root[data-ready]")
    assert wang.text_content(".item-head code") == li_item
    assert wang.eval_on_selector_all(".cell-input", "cells => cells.map(c => c.value)") == [""] * 16
    assert wang.input_value("#corrected") == ""
    assert CORRECTED not in wang.content()
    wang.keyboard.type(_digits_for(app, "wang", ranking))
    wang_order = store.current_assignment("内科", "wang").shown_order
    for _ in range(3 - wang_order.index(order[3])):
        wang.keyboard.press("ArrowUp")
    wang.keyboard.press("x")
    wang.keyboard.press("Enter")
    wang.wait_for_selector("#my-submitted:has-text('1')")
    (labeled,) = store.labeled_items("内科")
    assert labeled.final_by == "agreement"

    # The admin sees both on the progress page and downloads the datasets.
    admin = _log_in(browser, base, "admin", errors)
    admin.goto(f"{base}/admin/projects/1")
    assert admin.text_content("#project-submitted") == "2"
    with admin.expect_download() as download:
        admin.click("#export-zip")
    archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert "pairs/part-00000.parquet" in archive.namelist()
    info = json.loads(archive.read("llamafactory/dataset_info.json"))
    assert next(iter(info.values()))["ranking"] is True
    openrlhf = archive.read("openrlhf/preference.jsonl").decode().splitlines()
    # Six pairs from the four ranked responses, four of the corrected answer against each.
    assert len(openrlhf) == 10
    assert errors == []
