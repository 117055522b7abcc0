"""Streamlit glue shared by the pages: cached data and runs, and view state in the URL."""
