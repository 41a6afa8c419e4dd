"""Utilities: input validation, optional dependencies."""
