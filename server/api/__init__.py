"""The REST API under /api/v1/ and the health endpoints."""
