"""Limits decided before a byte is stored: request rates, concurrent uploads, quotas.

token_bucket.py and quota.py are pure (values in, decisions out); rate.py and uploads.py
hold the per-process or Redis-shared state; admission.py is what handlers call.
"""
