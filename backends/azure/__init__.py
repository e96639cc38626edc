"""The `azure` backend: blobs as block blobs in Azure Blob Storage (backend.py; errors.py
maps errors)."""

from backends.azure.backend import AzureBackend

__all__ = ["AzureBackend"]
