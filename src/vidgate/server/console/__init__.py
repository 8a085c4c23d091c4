"""The web console the gateway serves: ``mount_console(app)`` or ``app.mount("/console", create_console())``."""

from vidgate.server.console.app import Console, ConsoleConfig, create_console, mount_console
from vidgate.server.console.messages import failure_sentence

__all__ = ["Console", "ConsoleConfig", "create_console", "failure_sentence", "mount_console"]
