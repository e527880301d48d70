"""Platform presets: the size Qwen-Image draws at, and the exact size the platform wants.

Qwen-Image was trained on a handful of resolution buckets (1328x1328, 1664x928, ...).
Drawing on a bucket and resizing for export gives better posters than asking the model
for 1080x1920 directly. Every width and height is a multiple of 16: the pipeline silently
rounds anything else down (Qwen's own demo once asked for 1140 and got 1136).
"""

from __future__ import annotations

from dataclasses import dataclass

SIZE_MULTIPLE = 16


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    # The format as a Chinese prompt names it. Platform names are left out: a brand spelt in
    # Latin letters is one more word the model may draw, and the frame is what the line is for.
    label_zh: str
    aspect: str
    generate: tuple[int, int]  # (width, height) on a Qwen-Image training bucket
    export: tuple[int, int]  # (width, height) in exact platform pixels
    draft: tuple[int, int]  # (width, height), about 0.6 MP, for small GPUs and quick looks

    def size(self, draft: bool = False) -> tuple[int, int]:
        return self.draft if draft else self.generate


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in [
        Preset("instagram_post", "Instagram post", "社交媒体方形帖子", "1:1", (1328, 1328), (1080, 1080), (784, 784)),
        Preset("instagram_story", "Instagram story / Reels", "社交媒体竖屏快拍或短视频封面", "9:16", (928, 1664), (1080, 1920), (576, 1024)),
        Preset("web_banner", "Web banner", "网页横幅", "16:9", (1664, 928), (1920, 1080), (1024, 576)),
        Preset("poster_3_4", "Poster 18x24 in", "18×24英寸海报", "3:4", (1104, 1472), (1800, 2400), (672, 896)),
        Preset("slide_16_9", "Presentation slide", "演示幻灯片", "16:9", (1664, 928), (1920, 1080), (1024, 576)),
        Preset("landscape_4_3", "Landscape 4:3", "横版4:3", "4:3", (1472, 1104), (1600, 1200), (896, 672)),
        Preset("landscape_3_2", "Landscape 3:2", "横版3:2", "3:2", (1584, 1056), (1800, 1200), (960, 640)),
        Preset("portrait_2_3", "Portrait 2:3", "竖版2:3", "2:3", (1056, 1584), (1200, 1800), (640, 960)),
    ]
}

DEFAULT_PRESET = "instagram_post"


def get_preset(key: str) -> Preset:
    try:
        return PRESETS[key]
    except KeyError:
        raise ValueError(f"Unknown platform preset {key!r}. Choose one of: {', '.join(PRESETS)}") from None
