"""Reusable widgets over domain models."""

__all__: list[str] = []
