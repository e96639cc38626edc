"""Prometheus metrics: the series (series.py), the backend wrapper that feeds some of them
(backend.py) and the /metrics exposition across worker processes (exposition.py)."""
