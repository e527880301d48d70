"""The text check: OCR of a poster and character-exact matching of its expected strings.
Pure apart from the OCR engine; imports neither storage nor Streamlit."""
