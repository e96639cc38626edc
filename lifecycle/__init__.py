"""Lifecycle rules, evaluation and the background worker (see DESIGN.md)."""
