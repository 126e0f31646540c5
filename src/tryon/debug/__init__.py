"""Debugging aids: every intermediate of a try-on as pictures and JSON."""
