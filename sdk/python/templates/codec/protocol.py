"""The template codec's connections: a line echo server (see app.py for building and
serving it). componentize-py 0.25 looks for the class of an exported resource in a module
named after its interface, so this file must be called protocol.py.
"""

from wit_world.exports import protocol

from sluice_sdk import log
from sluice_sdk.codec import LineBuffer, output

# The line that ends a session, as SMTP's and POP3's QUIT do.
QUIT = b"quit"


class Connection(protocol.Connection):
    def __init__(self, info: protocol.ConnectionInfo) -> None:
        # A line may not outgrow the host's frame limit: a peer that never sends a newline is
        # refused instead of filling the instance's memory.
        self.lines = LineBuffer(info.frame_bytes_max)
        self.peer = info.peer
        log.debug(f"echo: {info.peer} connected on {info.listener}")

    def on_data(self, data: bytes) -> protocol.Output:
        echoed = bytearray()
        for line in self.lines.feed(data):
            if line == QUIT:
                return output(bytes(echoed) + b"bye\n", close=f"{self.peer} said quit")
            echoed += line + b"\n"
        return output(bytes(echoed))

    def on_wake(self, token: int, timed_out: bool) -> protocol.Output:
        # This codec arms no waits, so the host never wakes it; answering "nothing" is what a
        # stray wake deserves anyway.
        return output()
