"""Tokens (JWT), signing keys and the credentials each request carries."""
