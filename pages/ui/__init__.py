"""Streamlit building blocks the pages share. They live one folder down because Streamlit
serves every top-level pages/*.py file as a page before Home.py's navigation takes over."""
