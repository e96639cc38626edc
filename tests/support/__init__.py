"""Helpers for tests: servers they start (gateway, SeaweedFS, Azurite), ports, TLS files."""
