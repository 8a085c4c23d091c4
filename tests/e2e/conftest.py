"""End-to-end fixtures. The browser fixtures are registered here once, so every module shares one Chromium."""

from tests.e2e.browser import browser_fixture, page_fixture

__all__ = ["browser_fixture", "page_fixture"]
