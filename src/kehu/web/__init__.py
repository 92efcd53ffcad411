"""The console: server-rendered Jinja2 + HTMX."""

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the console routes, static files and middleware on ``app``."""


__all__ = ["install"]
