"""End to end in a real browser: the Prefect UI starts the ingestion deployment with a custom parameter."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tasks.ingest import versions
from schemas.params import IndexParams
from tests.documents import markdown

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
REQUIRE_BROWSER = "TRIBUTARY_REQUIRE_BROWSER"
"""Set to 1 (``.ci/run`` does) to fail instead of skipping when chromium is missing."""
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def require_browser(chromium: str = CHROMIUM) -> None:
    """Skip (with the reason in the summary) without Debian's chromium; fail instead under CI's flag."""
    if Path(chromium).exists():
        return
    reason = f"{chromium} is missing: the browser test needs Debian's chromium (apt-get install chromium; .ci/run does)"
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_BROWSER}=1 forbids skipping it")
    pytest.skip(reason)


@pytest.fixture()
def prefect_ui(tmp_path):
    """A real Prefect server on a free port and the ingest deployment served against it."""
    require_browser()
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": api, "PREFECT_UI_API_URL": api,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "HF_HUB_OFFLINE": "1"}
    logs = (tmp_path / "server.log").open("w"), (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=logs[0], stderr=subprocess.STDOUT)
    served = None
    try:
        wait_for(lambda: _healthy(api), 120, "the Prefect server")
        served = subprocess.Popen([sys.executable, "-m", "cli.app", "serve"],
                                  cwd=REPO, env=env, stdout=logs[1], stderr=subprocess.STDOUT)
        deployment = wait_for(lambda: _deployment_id(api), 120, "the ingest deployment")
        yield f"http://127.0.0.1:{port}", api, deployment
    finally:
        for process in (served, server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()


def test_a_missing_browser_skips_with_its_reason_unless_ci_requires_it(monkeypatch, tmp_path):
    missing = str(tmp_path / "no-chromium")
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-chromium is missing"):
        require_browser(missing)
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_BROWSER}=1 forbids skipping"):
        require_browser(missing)
    require_browser(sys.executable)  # present: neither


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _deployment_id(api: str) -> str | None:
    found = httpx.post(f"{api}/deployments/filter", json={"deployments": {"name": {"any_": ["ingest"]}}}, timeout=5).json()
    return found[0]["id"] if found else None


def _flow_runs(api: str, deployment: str) -> list[dict]:
    return httpx.post(f"{api}/flow_runs/filter", json={"deployments": {"id": {"any_": [deployment]}}}, timeout=5).json()


def test_start_the_ingest_deployment_from_the_ui_with_a_custom_parameter(prefect_ui, tmp_path):
    """Also pins a bug it found: with postponed annotations in flows/, every run started from a
    deployment failed parameter validation (`Ingest_FlowModel` is not fully defined)."""
    from playwright.sync_api import sync_playwright

    ui, api, deployment = prefect_ui
    source, db = tmp_path / "docs", tmp_path / "lancedb"
    source.mkdir()
    for topic in ("billing", "security"):
        (source / f"{topic}.md").write_text(markdown(topic))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{ui}/deployments/deployment/{deployment}/run", wait_until="networkidle")
        page.get_by_text("Source Dir (Optional)").wait_for(timeout=60_000)
        fields = {area.input_value(): area for area in page.locator("textarea").all()}
        fields["data/sample/docs"].fill(str(source))  # the custom parameter: which folder to ingest
        fields["data/lancedb"].fill(str(db))
        page.get_by_role("button", name="Submit").click()
        run = wait_for(lambda: (_flow_runs(api, deployment) or [None])[0], 120, "the flow run created by the UI")
        assert run["parameters"]["params"]["source_dir"] == str(source)
        final = wait_for(lambda: _final_state(api, run["id"]), 300, "the flow run to finish")
        assert final == "COMPLETED", (tmp_path / "serve.log").read_text()[-3000:]
        page.goto(f"{ui}/runs/flow-run/{run['id']}", wait_until="networkidle")
        page.get_by_text("Completed").first.wait_for(timeout=60_000)
        screenshot = tmp_path / "ingest-run-completed.png"
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    assert screenshot.stat().st_size > 10_000
    root = versions.manifest_root(IndexParams(db=str(db)))
    assert versions.read_pointer(root, versions.CURRENT) == "v1"
    assert set(versions.read_manifest(root, "v1").documents) == {"billing.md", "security.md"}


def _final_state(api: str, run_id: str) -> str | None:
    state = httpx.get(f"{api}/flow_runs/{run_id}", timeout=5).json()["state"]["type"]
    return state if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None
