"""REST API v1 (FastAPI)."""

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the API routes and error handlers on ``app``."""


__all__ = ["install"]
