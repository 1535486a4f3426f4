"""The console in a real headless Chromium: browse, tail live, append, bad input, auth.

Chromium and its driver come from Debian (``apt-get install chromium chromium-driver``;
``.ci/run`` installs them). Without them these tests skip, except under ``CI=true``, where
they fail. Screenshots go to ``build/test-output/console/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from s2_local.server import Server
from s2_sdk import AppendInput, Record, SeqNum
from s2_sdk.sync import connect
from support.rest import unique_basin

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.expected_conditions import staleness_of  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

OUTPUT = Path(__file__).resolve().parents[2] / "build" / "test-output" / "console"
ROOT = "console-root-token"


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    reason = "Chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    binary, driver_path = _chromium()
    options = Options()
    options.binary_location = binary
    for arg in ("--headless=new", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses its sandbox as root
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server() as server:
        yield server


@pytest.fixture
def shot(browser: WebDriver, request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Save a screenshot of the page as ``<test>-<step>.png``."""
    OUTPUT.mkdir(parents=True, exist_ok=True)

    def save(step: str) -> None:
        browser.save_screenshot(str(OUTPUT / f"{request.node.name}-{step}.png"))

    return save


def _wait(browser: WebDriver, check: Callable[[WebDriver], Any], timeout: float = 10) -> Any:
    return WebDriverWait(browser, timeout).until(check)


def _text(browser: WebDriver, selector: str) -> str:
    found = browser.find_elements(By.CSS_SELECTOR, selector)
    return " ".join(e.text for e in found)


def _stream_with_a_record(server: Server) -> tuple[str, str]:
    basin = unique_basin()
    with connect("x", server.endpoint) as client:
        client.create_basin(basin)
        client[basin].create_stream("orders/eu")
        record = Record(b'{"id": 1, "item": "tea"}', headers=[(b"type", b"order")])
        client[basin]["orders/eu"].append(AppendInput([record]))
    return basin, "orders/eu"


def test_browse_tail_live_and_append(
    server: Server, browser: WebDriver, shot: Callable[[str], None]
) -> None:
    basin, stream = _stream_with_a_record(server)
    browser.get(f"{server.endpoint}/console")
    basin_link = _wait(browser, lambda b: b.find_element(By.LINK_TEXT, basin))
    assert basin_link.get_attribute("href") == f"{server.endpoint}/console/{basin}"
    shot("basins")
    basin_link.click()
    stream_link = _wait(browser, lambda b: b.find_element(By.LINK_TEXT, stream))
    assert browser.current_url == f"{server.endpoint}/console/{basin}"
    assert stream_link.get_attribute("href").endswith(f"/console/{basin}/orders%2Feu")
    stream_link.click()
    _wait(browser, lambda b: "following" in _text(b, "#live-status"))
    _wait(browser, lambda b: '"item": "tea"' in _text(b, "#records"))  # the paged records
    assert '{\n  "id": 1,\n  "item": "tea"\n}' in _text(browser, "#records")  # JSON: pretty
    assert "type: order" in _text(browser, "#records")
    browser.execute_script("window.stillTheSamePage = true")

    with connect("x", server.endpoint) as client:  # appended elsewhere: shown live
        client[basin][stream].append(AppendInput([Record(b"hello from the API")]))
    _wait(browser, lambda b: "hello from the API" in _text(b, "#live"))
    assert browser.execute_script("return window.stillTheSamePage") is True  # no reload
    shot("live")

    browser.find_element(By.CSS_SELECTOR, "#append-form textarea[name=body]").send_keys("typed in")
    browser.find_element(By.CSS_SELECTOR, "#append-form textarea[name=headers]").send_keys("k: v")
    browser.find_element(By.CSS_SELECTOR, "#append-form button").click()
    ack = _wait(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#append-ack a"))
    assert ack.text == "seq 2"
    with connect("x", server.endpoint) as client:
        got = client[basin][stream].read(start=SeqNum(2)).records
    assert [(r.body, r.headers) for r in got] == [(b"typed in", [(b"k", b"v")])]
    _wait(browser, lambda b: "typed in" in _text(b, "#live"))
    shot("appended")

    browser.find_element(By.ID, "live-toggle").click()  # pause: nothing more arrives
    _wait(browser, lambda b: _text(b, "#live-status") == "paused")
    with connect("x", server.endpoint) as client:
        client[basin][stream].append(AppendInput([Record(b"while paused")]))
    browser.find_element(By.ID, "check-tail").click()
    _wait(browser, lambda b: _text(b, "#tail").startswith("4 "))
    assert "while paused" not in _text(browser, "#live")
    browser.find_element(By.ID, "live-toggle").click()  # resume: from where it stopped
    _wait(browser, lambda b: "while paused" in _text(b, "#live"))

    ack.click()  # the record's own address
    _wait(browser, lambda b: "typed in" in _text(b, "#record"))
    assert browser.current_url == f"{server.endpoint}/console/{basin}/orders%2Feu/2"
    browser.back()
    _wait(browser, lambda b: b.find_elements(By.ID, "append-form"))
    browser.back()
    _wait(browser, lambda b: b.find_elements(By.ID, "streams"))
    assert browser.current_url == f"{server.endpoint}/console/{basin}"

    browser.get(f"{server.endpoint}/console/{basin}/orders%2Feu/0?view=json")  # a bookmark
    _wait(browser, lambda b: '"item": "tea"' in _text(b, "#record"))
    shot("record")

    with connect("x", server.endpoint) as client:
        stamp = client[basin][stream].read(start=SeqNum(2)).records[0].timestamp
    browser.get(f"{server.endpoint}/console/{basin}/orders%2Feu?timestamp={stamp}&view=hex")
    _wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#records tr[data-seq]"))
    shown = [
        e.get_attribute("data-seq")
        for e in browser.find_elements(By.CSS_SELECTOR, "#records tr[data-seq]")
    ]
    assert shown[0] == "2" and "74 79 70 65 64 20 69 6e" in _text(browser, "#records")  # "typed in"
    browser.find_element(By.CSS_SELECTOR, "#trim-form input").send_keys("2")
    browser.find_element(By.CSS_SELECTOR, "#trim-form button").click()
    assert _wait(browser, lambda b: _text(b, "#trim-error")) == "Trimmed below 2."
    with connect("x", server.endpoint) as client:
        kept = client[basin][stream].read(start=SeqNum(0), clamp_to_tail=True).records
    assert [r.seq_num for r in kept][:2] == [2, 3]  # 0 and 1 trimmed; the trim is a record


def test_bad_input_shows_the_servers_error(
    server: Server, browser: WebDriver, shot: Callable[[str], None]
) -> None:
    basin, stream = _stream_with_a_record(server)
    browser.get(f"{server.endpoint}/console")
    name = _wait(
        browser, lambda b: b.find_element(By.CSS_SELECTOR, "#create-basin input[name=basin]")
    )
    name.send_keys("Not_A_Basin")
    browser.find_element(By.CSS_SELECTOR, "#create-basin button").click()
    said = httpx.post(f"{server.endpoint}/v1/basins", json={"basin": "Not_A_Basin"}).json()
    assert (
        _wait(browser, lambda b: _text(b, "#basin-error")) == f"{said['code']}: {said['message']}"
    )
    shot("bad-basin")

    browser.get(f"{server.endpoint}/console/{basin}/orders%2Feu?seq_num=abc")
    said = httpx.get(
        f"{server.endpoint}/v1/streams/orders%2Feu/records?seq_num=abc", headers={"s2-basin": basin}
    ).json()
    assert _wait(browser, lambda b: _text(b, "#page-error")) == f"{said['code']}: {said['message']}"
    browser.find_element(By.CSS_SELECTOR, "#trim-form input").send_keys("soon")
    browser.find_element(By.CSS_SELECTOR, "#trim-form button").click()
    assert "sequence number" in _wait(browser, lambda b: _text(b, "#trim-error"))
    with connect("x", server.endpoint) as client:  # nothing was appended meanwhile
        assert client[basin][stream].check_tail().seq_num == 1
    assert httpx.get(f"{server.endpoint}/health").status_code == 200


def test_auth_mode_asks_for_a_token_and_shows_403(
    browser: WebDriver, shot: Callable[[str], None]
) -> None:
    with Server(root_token=ROOT) as server:
        basin = unique_basin()
        with connect(ROOT, server.endpoint) as client:
            client.create_basin(basin)
            client[basin].create_stream("s")
        listing_only = httpx.post(
            f"{server.endpoint}/v1/access-tokens",
            headers={"authorization": f"Bearer {ROOT}"},
            json={"id": "lister", "scope": {"ops": ["list-basins"], "basins": {"prefix": ""}}},
        ).json()["access_token"]
        browser.get(f"{server.endpoint}/console")
        prompt = _wait(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#token-form input"))
        assert "authn" in _text(browser, "#auth-error")
        shot("prompt")
        prompt.send_keys("wrong-token")
        browser.find_element(By.CSS_SELECTOR, "#token-form button").click()
        _wait(browser, staleness_of(prompt))  # the view is rendered anew, asking again
        prompt = _wait(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#token-form input"))
        prompt.send_keys(listing_only)
        browser.find_element(By.CSS_SELECTOR, "#token-form button").click()
        _wait(browser, lambda b: b.find_elements(By.LINK_TEXT, basin))
        stored = browser.execute_script(
            "return [sessionStorage.getItem('s2-local-token'), localStorage.length]"
        )
        assert stored == [listing_only, 0]  # in this tab's session storage only
        browser.find_element(By.LINK_TEXT, basin).click()
        error = _wait(browser, lambda b: _text(b, "#view-error"))
        assert error.startswith("Permission denied.") and "permission_denied" in error
        shot("forbidden")
        browser.execute_script("sessionStorage.clear()")


def test_console_addresses_and_headers(server: Server) -> None:
    with httpx.Client(base_url=server.endpoint) as http:
        assert http.get("/").headers["location"] == "/console"
        for path in ("/console", "/console/some-basin", "/console/some-basin/a%2Fb/7"):
            page = http.get(path)
            assert page.status_code == 200 and '<main id="view">' in page.text
            policy = page.headers["content-security-policy"]
            assert "connect-src 'self'" in policy and "default-src 'none'" in policy
        script = http.get("/console/static/main.js")
        assert script.headers["content-type"].startswith("text/javascript")
        for missing in ("/console/static/nope.js", "/console/static/..%2F__init__.py"):
            assert http.get(missing).status_code == 404
