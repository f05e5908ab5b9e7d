"""The review page of a run (page.py), with its style and script as package data."""
