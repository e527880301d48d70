import pytest

from core.prompt.presets import PRESETS, get_preset

QWEN_BUCKETS = {(1328, 1328), (1664, 928), (928, 1664), (1472, 1104), (1104, 1472), (1584, 1056), (1056, 1584)}


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_size_is_a_multiple_of_16(key):
    preset = PRESETS[key]
    for width, height in (preset.generate, preset.draft):
        assert width % 16 == 0 and height % 16 == 0, (key, width, height)


@pytest.mark.parametrize("key", list(PRESETS))
def test_generation_sizes_are_qwen_buckets_and_keep_the_aspect(key):
    preset = PRESETS[key]
    assert preset.generate in QWEN_BUCKETS
    a, b = (int(x) for x in preset.aspect.split(":"))
    for width, height in (preset.generate, preset.export, preset.draft):
        assert abs(width / height - a / b) / (a / b) < 0.03, (key, width, height)


@pytest.mark.parametrize("key", list(PRESETS))
def test_draft_sizes_are_about_0_6_megapixels(key):
    width, height = PRESETS[key].draft
    assert 0.55e6 <= width * height <= 0.66e6


def test_required_presets():
    assert get_preset("instagram_post").generate == (1328, 1328)
    assert get_preset("instagram_post").export == (1080, 1080)
    assert get_preset("instagram_story").generate == (928, 1664)
    assert get_preset("instagram_story").export == (1080, 1920)
    assert get_preset("web_banner").export == (1920, 1080)
    assert get_preset("poster_3_4").generate == (1104, 1472)
    assert get_preset("landscape_3_2").generate == (1584, 1056)


def test_unknown_preset_message_lists_choices():
    with pytest.raises(ValueError, match="instagram_post"):
        get_preset("tiktok")
