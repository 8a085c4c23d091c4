"""End-to-end fixtures. The browser fixtures are registered here, once for the whole directory."""

from tests.e2e.browser import browser_fixture, page_fixture

__all__ = ["browser_fixture", "page_fixture"]
