"""The README's GPU figures table is generated from bench/results/ and must match it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import readme_table
from core.render.estimates import SOURCES, estimate_poster_seconds, result

ROOT = Path(__file__).resolve().parents[1]


def test_readme_table_matches_the_results_files():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_table.START in text and readme_table.END in text
    assert readme_table.update(text) == text, "README.md is out of date: run python -m bench.readme_table"


def test_a_hand_edited_figure_is_caught():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    compiled = result("gpu_speed_h100.jsonl", "compiled_1328_cfg4_50steps_full")["wall_s"]
    figure = f"**{compiled:.1f} s**"
    assert figure in text
    edited = text.replace(figure, "**25.0 s**", 1)
    assert readme_table.update(edited) != edited
    assert readme_table.update(edited) == text


@pytest.mark.parametrize("key", list(SOURCES))
def test_every_estimate_reads_rows_that_exist(key):
    source = SOURCES[key]
    poster = result(source.file, source.poster_row)
    card, strategy, compiled, fast_mode = key
    steps, cfg = (8, 1.0) if fast_mode == "lightning" else (poster["steps"], poster["cfg"])
    estimate = estimate_poster_seconds(card, strategy, compiled, poster["width"], poster["height"], steps, cfg,
                                       fast_mode=fast_mode)
    if steps == poster["steps"]:
        # Estimating the measured poster itself gives back its wall time.
        assert estimate.seconds == pytest.approx(poster["wall_s"], abs=0.06)
    assert source.file in estimate.basis
