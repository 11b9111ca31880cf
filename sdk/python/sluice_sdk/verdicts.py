"""A filter's verdicts (`wit/filter.wit`), without the generated names' underscores.

Only the `filter` world has `wit_world.exports.filtering`: import this from filters.
"""

from wit_world.exports import filtering
from wit_world.imports import types

# Keep and drop carry nothing, so one instance of each serves every message.
_KEEP = filtering.Verdict_Keep()
_DROP = filtering.Verdict_Drop()


def keep() -> filtering.Verdict:
    """The message goes on unchanged."""
    return _KEEP


def drop() -> filtering.Verdict:
    """On publish: not stored. On delivery: taken off the queue. As a selector: not for
    this consumer."""
    return _DROP


def rewrite(message: types.Message) -> filtering.Verdict:
    """The message is replaced by `message` (see `sluice_sdk.messages.with_body`)."""
    return filtering.Verdict_Rewrite(message)
