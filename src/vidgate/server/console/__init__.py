"""The web console the gateway serves: ``create_app(config, plugins=[console_plugin()])``, or
``mount_console(app)`` / ``app.mount("/console", create_console(catalog))`` on any Starlette app."""

from vidgate.server.console.app import Console, ConsoleConfig, console_plugin, create_console, mount_console
from vidgate.server.console.messages import failure_sentence

__all__ = ["Console", "ConsoleConfig", "console_plugin", "create_console", "failure_sentence", "mount_console"]
