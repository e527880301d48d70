"""From product facts to one exact prompt: platform presets, the prompt builder, the brand
block. Pure: imports neither storage, Streamlit nor torch."""
