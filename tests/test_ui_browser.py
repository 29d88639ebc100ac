"""The Airflow UI of `seed ui`, used as a person uses it, in headless Chromium: open the DAG list, open
seed_snapshot, read its docs, fill the trigger form's Params, trigger, and see the run succeed in the grid.

Chromium is Debian's package (installed by tests/browser.py when absent; SKIP_BROWSER_TESTS=1 skips these
tests instead of failing, BROWSER_CHROMIUM=PATH picks another binary); Playwright drives it. Screenshots
(airflow-grid.png, airflow-trigger-form.png, airflow-dag-docs.png) go to $BROWSER_SCREENSHOTS, else tmp_path.
"""

from __future__ import annotations

import ast
import json
import re
import urllib.parse
from pathlib import Path

import pytest

from tests.browser import chromium, screenshots_dir, seed_ui
from tests.repos import make_repo

pytestmark = pytest.mark.slow

DAG_ID = "seed_snapshot"
DAG_FILE = Path(__file__).resolve().parent.parent / "dags" / "seed_snapshot.py"
SNAPSHOT_DATE = "2026-04-01"
# Everything that can be left out, to keep the run short: prepare -> crawl (Spark) -> corpus -> publish.
SKIP = ["exact_dedup", "near_dedup", "syntax", "decontam", "quality", "repo_sequences", "commit_samples"]
RUN_TIMEOUT_S = 900  # about 2-3 minutes on a loaded 2-core machine; generous
UI_TIMEOUT_MS = 60_000  # any one element to appear (the UI polls the API; slow on a loaded machine)
VIEWPORT = {"width": 1400, "height": 900}


@pytest.fixture(scope="module")
def browser():
    executable = chromium()  # installs Debian's chromium when absent, or fails saying why
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need the playwright package (requirements.txt): run scripts/bootstrap.sh",
                    pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True)
        try:
            yield b
        finally:
            b.close()


def dag_doc() -> tuple[str, list[str]]:
    """The first line of the DAG's docs (its module docstring) and the stages its bullet list names."""
    doc = ast.get_docstring(ast.parse(DAG_FILE.read_text()))
    bullets = [line.split()[1] for line in doc.splitlines() if line.startswith("- ")]
    return doc.splitlines()[0], bullets


def task_log_tails(work: Path, run_id: str, states: dict[str, str | None]) -> str:
    """The end of each failed task's log, for the failure message."""
    out = []
    for task, state in states.items():
        if state in ("failed", "upstream_failed"):
            logs = sorted((work / ".seed" / "airflow" / "logs").glob(f"dag_id={DAG_ID}/run_id={run_id}/"
                                                                     f"task_id={task}/*.log"))
            if logs:
                out.append(f"--- {task} ({logs[-1].name}) ---\n{logs[-1].read_text(errors='replace')[-3000:]}")
    return "\n".join(out)


def test_trigger_seed_snapshot_from_the_form_and_see_it_succeed_in_the_grid(tmp_path, browser):
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    repo = make_repo(tmp_path / "src" / "proj", {"main.py": "print(1)\n", "x.bin": b"\x00\x01"})
    work = tmp_path / "work"
    work.mkdir()
    shots = screenshots_dir(tmp_path)
    first_line, stages = dag_doc()

    # Unpausing seed_snapshot (the trigger form does, by default) also makes the scheduler start the latest
    # nightly interval, on the default sources (README: "Manual runs"), which would run first
    # (max_active_runs=1) and for many minutes: turn the schedule off, manual runs still run.
    with seed_ui(work, tmp_path / "ui.log", AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False") as ui:
        ui.wait_ready(DAG_ID)
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        try:
            # No login: the embedded deployment makes everyone who reaches the loopback UI an admin.
            page.goto(ui.url)
            page.get_by_test_id("nav-dags-link").click()
            page.wait_for_url(re.compile(r"/dags/?$"))
            page.get_by_role("link", name=DAG_ID, exact=True).click()
            page.wait_for_url(re.compile(rf"/dags/{DAG_ID}/?$"))
            expect(page.get_by_role("heading", name=DAG_ID, exact=True)).to_be_visible()

            # The DAG's docs (doc_md = the module docstring) render as Markdown: paragraphs, a list, code.
            page.get_by_test_id("markdown-button").click()
            docs = page.get_by_role("dialog")
            expect(docs.get_by_role("heading", name="Dag Documentation")).to_be_visible()
            expect(docs.locator("p").first).to_have_text(first_line)
            expect(docs.get_by_role("listitem")).to_have_count(len(stages))
            for item, stage in zip(docs.get_by_role("listitem").all(), stages):
                expect(item).to_contain_text(stage)
            expect(docs.locator("code", has_text=re.compile(r"^snapshot_date$"))).to_be_visible()
            assert "`" not in docs.inner_text()  # backticks became code, not shown as typed
            page.screenshot(path=shots / "airflow-dag-docs.png")
            docs.get_by_role("button", name="Close").click()
            expect(docs).to_be_hidden()

            # The trigger form: Params filled as a person types them (arrays one item a line).
            page.get_by_test_id("trigger-dag-button").click()
            form = page.get_by_role("dialog")
            expect(form.get_by_role("heading", name=f"Trigger Dag - {DAG_ID}")).to_be_visible()
            expect(form.get_by_role("checkbox", name=f"Unpause {DAG_ID} on trigger")).to_be_checked()
            form.locator("#element_snapshot_date").fill(SNAPSHOT_DATE)
            form.locator("#element_sources").fill(str(repo))
            form.locator("#element_skip_stages").fill("\n".join(SKIP))
            expect(form.locator("#element_snapshot_date")).to_have_value(SNAPSHOT_DATE)
            page.set_viewport_size({"width": VIEWPORT["width"], "height": 2400})  # the whole form, unscrolled
            form.screenshot(path=shots / "airflow-trigger-form.png")
            page.set_viewport_size(VIEWPORT)
            submit = form.get_by_test_id("trigger-dag-submit")
            expect(submit).to_be_enabled()
            submit.click()
            expect(form).to_be_hidden()
            page.wait_for_url(re.compile(rf"/dags/{DAG_ID}/runs/[^/?#]+"))  # the UI opens the new run
            run_id = urllib.parse.unquote(re.search(r"/runs/([^/?#]+)", page.url).group(1))

            # The run got the form's values, and it finishes (polled through the REST API the UI reads).
            run = ui.api(f"dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id, safe='')}")
            assert run["run_type"] == "manual"
            assert (run["conf"]["snapshot_date"], run["conf"]["sources"], run["conf"]["skip_stages"]) == (
                SNAPSHOT_DATE, [str(repo)], SKIP), run["conf"]
            run = ui.wait_run(DAG_ID, run_id, timeout=RUN_TIMEOUT_S)
            if run["state"] != "success":
                states = ui.task_states(DAG_ID, run_id)
                pytest.fail(f"run {run_id} {run['state']}: {states}\n{task_log_tails(work, run_id, states)}",
                            pytrace=False)

            # The grid shows it: a cell per task, and the run, its crawl and its publish say Success.
            page.goto(f"{ui.url}/dags/{DAG_ID}")
            page.get_by_test_id("grid-view-button").click()
            cells = page.locator(f'a[data-testid^="grid-{run_id}-"]')
            expect(cells).to_have_count(len(ui.task_states(DAG_ID, run_id)))
            expect(page.get_by_test_id("stat").filter(has_text="Latest Run")
                   .get_by_test_id("state-badge")).to_have_attribute("aria-label", "success")
            page.mouse.move(VIEWPORT["width"] - 1, VIEWPORT["height"] - 1)  # no tooltip in the picture
            page.screenshot(path=shots / "airflow-grid.png")
            for task in ("crawl", "publish"):
                page.get_by_test_id(f"grid-{run_id}-{task}").hover()
                tip = page.get_by_role("tooltip").filter(has_text=f"Task ID: {task}")
                expect(tip).to_contain_text("State: Success")
                expect(tip).to_contain_text(f"Run ID: {run_id}")
                page.mouse.move(VIEWPORT["width"] - 1, VIEWPORT["height"] - 1)
                expect(tip).to_be_hidden()
            page.locator(f'[data-run-id="{run_id}"] a[href$="/runs/{run_id}/"]').hover()
            expect(page.get_by_text(f"Run ID: {run_id}").locator("..")).to_contain_text("State: Success")
        except BaseException:
            try:
                page.screenshot(path=shots / "airflow-failure.png", full_page=True)
            except Exception:  # the page itself may be what failed
                pass
            raise
        finally:
            context.close()

    # And the snapshot it published is the one the form asked for.
    manifest = json.loads((work / ".seed" / "data" / "snapshots" / f"dt={SNAPSHOT_DATE}" / "_MANIFEST.json")
                          .read_text())
    assert manifest["snapshot"] == SNAPSHOT_DATE
    skipped = {s["name"] for s in manifest["stages"] if s.get("skipped")}
    assert set(SKIP) <= skipped, skipped
    for name in ("airflow-grid.png", "airflow-trigger-form.png", "airflow-dag-docs.png"):
        assert (shots / name).stat().st_size > 10_000, name  # a real picture, not a blank page
