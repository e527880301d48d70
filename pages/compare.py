"""Compare: 2 to 4 posters side by side at one scale, a table of every recipe field with the
differences highlighted, a word diff of the final prompts, and a quick review of each."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from core.recipe import diff_recipes, word_diff
from core.services.export import ExportOptions, export_file_name, export_poster
from core.services.gallery import get_posters
from core.services.reviews import summaries
from pages.ui.compare_tray import MAX_COMPARE, selected
from pages.ui.identity import acting
from pages.ui.review import review_form, reviewer_box, summary_line
from pages.ui.markdown_text import plain
from pages.ui.shared import display_bytes, get_studio, require_app_shell

require_app_shell()
studio = get_studio()

HIGHLIGHT = "background-color: #fff1a8; font-weight: 600"


def parse_ids(text: str) -> list[int]:
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise ValueError(f"'{part}' is not a poster id. The address should look like ?ids=12,15,18.")
        if int(part) not in ids:
            ids.append(int(part))
    return ids


def word_diff_html(old: str, new: str) -> str:
    spans = []
    for kind, text in word_diff(old, new):
        text = html.escape(text).replace("\n", "<br>")
        if kind == "removed":
            spans.append(f'<del style="background:#ffd7d5;color:#82071e">{text}</del>')
        elif kind == "added":
            spans.append(f'<ins style="background:#ccffd8;color:#055d20;text-decoration:none">{text}</ins>')
        else:
            spans.append(text)
    return f'<div style="font-family:monospace;font-size:0.85rem;line-height:1.5">{"".join(spans)}</div>'


def short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"



st.title("Compare")
raw = st.query_params.get("ids")
try:
    ids = parse_ids(raw) if raw else list(selected())
except ValueError as problem:
    st.error(plain(problem))
    st.stop()

if len(ids) > MAX_COMPARE:
    st.warning(f"Compare shows at most {MAX_COMPARE} posters; the first {MAX_COMPARE} are shown.")
    ids = ids[:MAX_COMPARE]
details = get_posters(studio.db, ids)
gone = [i for i in ids if i not in {d.id for d in details}]
if gone:
    st.warning(f"Poster(s) {', '.join(f'#{i}' for i in gone)} no longer exist and are left out.")
if len(details) < 2:
    st.info(
        "Pick 2 to 4 posters to compare: tick **Compare** on their tiles in the Gallery "
        "(from one variant set or several), then press **Compare**."
    )
    st.page_link("pages/gallery.py", label="Go to the gallery", icon=":material/photo_library:")
    st.stop()

# -- side by side, at one scale --
# Each column is as wide as its poster has pixels, relative to the others, and each image
# fills its column: so every poster is drawn at the same scale whatever the window size.
# The space between them is a column too (Streamlit's gaps are fixed pixels taken from every
# column alike, which would shrink a narrow poster relatively more).
# The columns follow the posters' own pixel widths; the images are display renditions (a
# small JPEG each, made once per poster), stretched to their columns, so the scale holds. The
# full PNG is a download away, built only when its button is pressed.
review_summaries = summaries(studio.db, [d.id for d in details])
spacer = sum(d.width for d in details) * 0.03
spec = [weight for d in details for weight in (d.width, spacer)][:-1]
columns = st.columns(spec, gap=None)[::2]
for column, detail in zip(columns, details):
    with column:
        st.image(display_bytes(studio, detail.path), width="stretch")
        st.markdown(f"**#{detail.id}** · seed {detail.recipe.seed} · {detail.width}×{detail.height}")
        st.caption(summary_line(review_summaries[detail.id]))
        st.page_link("pages/gallery.py", label="Open", query_params={"poster": str(detail.id)}, icon=":material/open_in_new:")
        st.download_button(
            "Full size PNG",
            data=lambda poster_id=detail.id: export_poster(studio.db, studio.store, poster_id, ExportOptions(), actor=acting())[1],
            file_name=export_file_name(detail.id, detail.recipe.seed, (detail.width, detail.height), "png"),
            mime="image/png",
            key=f"compare_png_{detail.id}",
            on_click="ignore",
            icon=":material/download:",
            help=f"The original {detail.width}×{detail.height} PNG, with its recipe embedded.",
        )
st.caption("All drawn at one scale: a poster twice as wide in pixels is shown twice as wide.")

# -- every recipe field --
recipes = [d.recipe for d in details]
rows = diff_recipes(recipes)
differing = [r for r in rows if r.differs]
st.subheader("Recipe")
st.caption(
    f"{len(differing)} of {len(rows)} fields differ: {', '.join(r.label for r in differing) or 'none'}."
    " They are highlighted and marked ≠."
)
only_differing = st.toggle("Only the fields that differ", key="compare_only_diff")
shown = differing if only_differing else rows
table = pd.DataFrame(
    {
        "Field": [r.label for r in shown],
        **{
            f"#{d.id}": [plain(short(r.values[i]) if r.label == "Final prompt" else r.values[i]) for r in shown]
            for i, d in enumerate(details)
        },
        "Differs": ["≠" if r.differs else "" for r in shown],
    }
)
st.table(table.style.apply(lambda row: [HIGHLIGHT if row["Differs"] else "" for _ in row], axis=1))

# -- the final prompts, word by word --
st.subheader("Final prompts, word by word")
base = details[0]
for other in details[1:]:
    same = other.recipe.prompt == base.recipe.prompt
    st.markdown(f"**#{other.id} against #{base.id}**" + (" · identical" if same else ""))
    if not same:
        st.html(word_diff_html(base.recipe.prompt, other.recipe.prompt))
st.caption("Struck out in red: words only in the first poster's prompt. Green: words only in the other's.")

# -- review them here --
st.subheader("Review")
reviewer = reviewer_box("compare")
columns = st.columns(len(details))
for column, detail in zip(columns, details):
    with column:
        st.markdown(f"**#{detail.id}** · seed {detail.recipe.seed}")
        review_form(studio.db, detail.id, reviewer, "compare")
