"""Lines to the broker's log (`wit/log.wit`), the only way a plugin speaks to an operator.

A plugin's stdout and stderr are discarded, so `print` says nothing: use these. The host tags
each line with the plugin's name and version, may drop lines past its rate limit, and cuts a
line at 4 KiB.
"""

from wit_world.imports import log as _log

Level = _log.Level


def trace(message: str) -> None:
    _log.log(Level.TRACE, message)


def debug(message: str) -> None:
    _log.log(Level.DEBUG, message)


def info(message: str) -> None:
    _log.log(Level.INFO, message)


def warn(message: str) -> None:
    _log.log(Level.WARN, message)


def error(message: str) -> None:
    _log.log(Level.ERROR, message)
