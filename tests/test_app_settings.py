"""The settings page and the strategy a job records, on demo models (CPU)."""

from dataclasses import replace
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.services.compose import ComposeRequest, prepare, submit
from core.prompt.builder import ProductFields
from tests.helpers import wait_for_jobs, TEST_ACTOR

HOME = str(Path(__file__).resolve().parents[1] / "Home.py")


def test_settings_page_shows_the_plan_and_says_when_there_is_no_measurement(app_studio):
    at = AppTest.from_file(HOME, default_timeout=60)
    at.run()
    at.switch_page("pages/settings.py").run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Memory strategy" in " ".join(h.value for h in at.subheader)
    assert "**cpu**" in text  # the plan's label: demo models on CPU run on one device
    assert "Regional compile: off" in text
    assert "Fast mode: off" in text
    assert "Brief model: nf4" in text
    assert any("No measurement for this card" in info.value for info in at.info)


def test_a_job_records_how_the_pipeline_ran(studio):
    product = ProductFields(name="Aurora", offer="SUMMER SALE", price="$19.99", cta="Shop now")
    request = ComposeRequest(product=product, preset_key="instagram_post", draft_size=True, steps=2, seed=3)
    recipe = prepare(request, studio.tokenizer)
    submission = submit(studio.queue, request, recipe, studio.models.image_model_id, studio.models.demo, actor=TEST_ACTOR)
    studio.runner.wake()
    (state,) = wait_for_jobs(studio.db, submission.job_ids)
    assert state.status == "done", state.error
    assert state.timings["strategy"] == studio.plan.label == "cpu"
    assert state.timings["encode_s"] >= 0


def test_settings_page_estimates_a_poster_on_a_measured_card(app_studio, monkeypatch):
    import core.render.system_info as system_info

    real = system_info.snapshot

    def on_an_h100(device):
        return replace(real(device), gpu_name="NVIDIA H100 80GB HBM3", gpu_free_gib=78.0, gpu_total_gib=79.2)

    monkeypatch.setattr(system_info, "snapshot", on_an_h100)
    at = AppTest.from_file(HOME, default_timeout=60)
    at.run()
    at.switch_page("pages/settings.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    # The demo plan runs eager and resident: the H100's eager row, 50 steps at 1328x1328.
    row = table[(table["size"] == "1328x1328") & (table["steps"] == 50)].iloc[0]
    assert row["seconds"] == 33.6 and "NVIDIA H100" in row["from"]
    assert not at.info or all("No measurement" not in info.value for info in at.info)
