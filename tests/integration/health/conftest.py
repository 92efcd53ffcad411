"""The API fixtures (app, client, staff of every role with tokens) for the health tests."""

from tests.integration.api.conftest import admin, app, client, staff  # noqa: F401
