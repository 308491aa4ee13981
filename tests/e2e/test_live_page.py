"""The `/live/` page and the admin's execution page in headless Chromium (Debian's package,
driven by Playwright): a signed-in operator watches events and output arrive."""

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser(stack, admin_api):
    """Chromium, started after the fixtures that use the database: Playwright runs an event
    loop in this thread, where Django refuses synchronous database calls."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def admin_page(browser, stack):
    """A page signed in to the admin as `admin`."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{stack.url}/admin/login/?next=/live/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{stack.url}/live/")
    yield page
    context.close()


def test_live_page_requires_signing_in(browser, stack):
    page = browser.new_page()
    page.goto(f"{stack.url}/live/")
    assert "/admin/login/" in page.url
    page.close()


def test_live_page_shows_executions_as_they_happen(admin_page, admin_api):
    expect(admin_page.locator("#state")).to_have_text("open")
    execution_id = admin_api.run("core.echo", message="seen in the browser")["id"]

    finished = admin_page.locator(
        "tr[data-type='execution.updated']", has_text=f"execution {execution_id}"
    ).filter(has_text="succeeded")
    expect(finished).to_have_count(1, timeout=30_000)
    output = admin_page.locator("tr[data-type='execution.output']", has_text="seen in the browser")
    expect(output).to_have_count(1)


def test_admin_execution_page_shows_output_while_it_runs(admin_page, admin_api, stack):
    script = "for i in 1 2 3 4 5 6; do echo step $i; sleep 0.5; done"
    execution_id = admin_api.run("core.local", cmd=script)["id"]
    admin_api.wait_for(execution_id, statuses=("running",))

    admin_page.goto(f"{stack.url}/admin/executions/execution/{execution_id}/change/")
    stdout = admin_page.locator(f"pre[data-live-output='stdout'][data-execution='{execution_id}']")
    expect(stdout).to_contain_text("step 3", timeout=30_000)
    still_running = admin_api.get(f"/api/v1/executions/{execution_id}").json()["status"]
    expect(stdout).to_contain_text("step 6", timeout=30_000)
    expect(stdout).to_have_attribute("data-finished", "succeeded", timeout=30_000)

    assert still_running == "running"  # the text arrived while it ran, not on reload
