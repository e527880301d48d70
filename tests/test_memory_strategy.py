"""The memory strategy chooser (core/render/memory.py): pure logic, checked against the peaks
measured on the lent H100 (BENCHMARKS.md, "Memory strategies")."""

import pytest

from core.render.memory import (
    GIB,
    MemoryModel,
    choose_strategy,
    describe,
    estimate_peak_gib,
    resident_block_indices,
)


def choose(free_gib, total_gib=None, **kwargs):
    total = total_gib if total_gib is not None else free_gib
    return choose_strategy(int(free_gib * GIB), int(total * GIB), **kwargs)


def test_an_80_gib_card_keeps_everything_resident_and_decodes_untiled():
    strategy = choose(79.0, 79.2)
    assert strategy.name == "resident" and strategy.fits
    # 54.7 GiB peak plus the 13.9 GiB untiled decode still fits: take the 3x faster decode.
    assert strategy.vae_tiling is False
    assert not strategy.changes_output and not strategy.batched_cfg


def test_a_48_gib_card_streams_only_the_text_encoder():
    strategy = choose(47.0, 48.0)
    assert strategy.name == "te_offload" and strategy.fits
    assert strategy.vae_tiling is True  # the untiled decode would not fit beside 38 GiB of weights
    assert any("text encoder" in reason for reason in strategy.reasons)


@pytest.mark.parametrize("free_gib, low, high", [(40, 45, 56), (24, 22, 32), (16, 10, 19)])
def test_smaller_cards_keep_as_many_blocks_resident_as_fit(free_gib, low, high):
    strategy = choose(free_gib)
    assert strategy.name == "group_offload" and strategy.fits
    assert low <= strategy.resident_blocks <= high
    assert strategy.batched_cfg  # halves the weight traffic per step
    assert strategy.label == f"group_offload({strategy.resident_blocks} resident)"


def test_more_memory_never_means_fewer_resident_blocks():
    counts = [choose(gib).resident_blocks for gib in range(8, 40)]
    assert counts == sorted(counts)


@pytest.mark.parametrize("free_gib", [4.0, 6.5, 9.0, 12.0, 16.0, 20.0, 24.0, 31.0, 40.0, 44.0, 48.0, 60.0, 80.0])
@pytest.mark.parametrize("size", [(1328, 1328), (1664, 928)])
def test_the_chosen_strategy_fits_with_its_headroom(free_gib, size):
    strategy = choose(free_gib, width=size[0], height=size[1])
    if strategy.fits:
        assert strategy.estimated_peak_gib + MemoryModel().headroom_gib <= free_gib + 1e-6


@pytest.mark.parametrize(
    "name, blocks, tiling, measured",
    [
        # Peaks measured on the H100 at 1328x1328, CFG 4 (bench/results/gpu_*_h100.jsonl).
        ("resident", 0, True, 54.71),
        ("te_offload", 0, True, 39.83),
        ("group_offload", 54, True, 37.28),
        ("group_offload", 29, True, 21.46),
        ("group_offload", 16, True, 13.23),
    ],
)
def test_estimates_cover_the_measured_peaks_without_wasting_much(name, blocks, tiling, measured):
    estimate = estimate_peak_gib(name, 1328, 1328, resident_blocks=blocks, vae_tiling=tiling)
    assert measured - 0.1 <= estimate <= measured + 1.5


def test_untiled_decode_estimate_matches_the_measured_extra():
    extra = estimate_peak_gib("resident", 1328, 1328, vae_tiling=False) - estimate_peak_gib("resident", 1328, 1328)
    assert extra == pytest.approx(13.89 - 0.8, abs=1.0)  # measured 13.89 GiB extra, minus the activations it replaces


def test_a_card_too_small_for_anything_says_so():
    strategy = choose(2.5)
    assert not strategy.fits
    assert any("Close other GPU programs" in reason for reason in strategy.reasons)


def test_too_little_host_memory_for_streaming_falls_back_to_nf4():
    strategy = choose(16.0, host_free_bytes=24 * GIB)
    assert strategy.name == "nf4" and strategy.changes_output
    assert "changes output" in describe(strategy)
    with_ram = choose(16.0, host_free_bytes=128 * GIB)
    assert with_ram.name == "group_offload"


def test_an_override_is_honoured_and_warned_about_when_it_will_not_fit():
    strategy = choose(24.0, requested="resident")
    assert strategy.name == "resident"
    assert not strategy.fits
    assert any("STUDIO_STRATEGY" in reason for reason in strategy.reasons)
    assert any("out-of-memory" in reason for reason in strategy.reasons)
    assert choose(79.0, requested="model_offload").name == "model_offload"
    with pytest.raises(ValueError):
        choose(24.0, requested="everything")


def test_resident_blocks_are_spread_evenly_and_start_with_block_zero():
    for resident in range(0, 61):
        indices = resident_block_indices(60, resident)
        assert len(indices) == resident == len(set(indices))
        assert all(0 <= i < 60 for i in indices)
        if 0 < resident < 60:
            assert indices[0] == 0  # the first streamed block's copy overlaps block 0's compute
    # Evenly spread: no long run of streamed blocks whose copies nothing overlaps.
    for resident in (16, 29, 40):
        kept = set(resident_block_indices(60, resident))
        longest, run = 0, 0
        for index in range(60):
            run = 0 if index in kept else run + 1
            longest = max(longest, run)
        assert longest <= -(-(60 - resident) // resident) + 1
