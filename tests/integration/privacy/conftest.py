"""The API's fixtures, used by the privacy tests too."""

from tests.integration.api.conftest import admin, app, client, staff

__all__ = ["admin", "app", "client", "staff"]
