"""The value tests' order history, for the job tests."""

from tests.integration.value.conftest import history  # noqa: F401 - a fixture
