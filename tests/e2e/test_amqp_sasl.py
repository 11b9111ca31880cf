"""SASL on the AMQP listener (issue 5): PLAIN with a configured user, refusal of a wrong
password, and of anonymous clients once `allow-anonymous = false` (including clients that skip
the SASL layer). Outcomes are read off the wire as well as through proton, so a refusal is
known to be the broker's and not the client's.
"""

from __future__ import annotations

import pytest
from proton import ConnectionException, Message

import amqp_wire
from amqp_clients import (bodies, connect, connection, module_broker, receiver, send,
                          take_accept)
from conftest import unique

USER, PASSWORD = "alice", "wonderland"
SECURED = f"""
[security]
allow-anonymous = false

[[security.users]]
name = "{USER}"
password = "{PASSWORD}"
"""
UNAUTHORIZED = "amqp:unauthorized-access"


@pytest.fixture(scope="module")
def broker(module_tmp):
    yield from module_broker(module_tmp, SECURED)


def plain(user: str, password: str) -> bytes:
    return b"\0" + user.encode() + b"\0" + password.encode()


def proton_login(user: str | None, password: str | None, mechanism: str) -> dict:
    return {"user": user, "password": password, "allowed_mechs": mechanism,
            "allow_insecure_mechs": True}


@pytest.mark.timeout(60)
def test_plain_login_of_a_configured_user_sends_and_receives(broker):
    with amqp_wire.WireConnection(broker.port("amqp")) as wire:
        outcome = wire.sasl("PLAIN", plain(USER, PASSWORD))
        assert outcome.field(0) == amqp_wire.SASL_OK, repr(outcome)

    address = f"queue://{unique('sasl')}"
    with connection(broker, **proton_login(USER, PASSWORD, "PLAIN")) as conn:
        send(conn, address, [Message(body="as alice")])
        assert bodies(take_accept(receiver(conn, address), 1)) == ["as alice"]


@pytest.mark.timeout(60)
def test_plain_login_with_a_wrong_password_is_refused(broker):
    with amqp_wire.WireConnection(broker.port("amqp")) as wire:
        outcome = wire.sasl("PLAIN", plain(USER, "not-" + PASSWORD))
        assert outcome.field(0) == amqp_wire.SASL_AUTH, repr(outcome)
        assert wire.frames_until_closed() == [], "the broker went on after refusing the login"

    with pytest.raises(ConnectionException, match=UNAUTHORIZED):
        connect(broker, **proton_login(USER, "not-" + PASSWORD, "PLAIN")).close()


@pytest.mark.timeout(60)
def test_anonymous_login_is_refused_when_anonymous_is_not_allowed(broker):
    with amqp_wire.WireConnection(broker.port("amqp")) as wire:
        offered = wire.offered_mechanisms()
        assert "PLAIN" in offered, offered
        if "ANONYMOUS" in offered:
            wire.send(amqp_wire.frame(amqp_wire.SASL_INIT, [amqp_wire.symbol("ANONYMOUS")],
                                      kind=amqp_wire.FRAME_SASL))
            outcome = wire.read_frame()
            assert outcome is not None and outcome.field(0) != amqp_wire.SASL_OK, (
                f"ANONYMOUS offered and accepted with allow-anonymous = false: {outcome!r}")

    with pytest.raises(ConnectionException):
        connect(broker, **proton_login(None, None, "ANONYMOUS")).close()


@pytest.mark.timeout(60)
def test_a_client_skipping_sasl_gets_no_connection_when_anonymous_is_not_allowed(broker):
    """A bare AMQP header is an anonymous client that never authenticated. The broker answers
    with the SASL header it requires and closes, or, if it takes the header, closes before any
    open with unauthorized-access."""
    with amqp_wire.WireConnection(broker.port("amqp")) as wire:
        wire.send(amqp_wire.AMQP_HEADER)
        header = wire.read_header()
        if header == b"":
            return  # closed without a word: refused
        if header == amqp_wire.SASL_HEADER:
            assert wire.frames_until_closed() == [], "frames after refusing the protocol"
            return
        assert header == amqp_wire.AMQP_HEADER, f"unexpected answer {header!r}"
        wire.send(amqp_wire.frame(amqp_wire.OPEN, ["e2e-no-sasl"]))
        frames = wire.frames_until_closed()
        assert amqp_wire.close_condition(frames) == UNAUTHORIZED, frames
        assert not [f for f in frames if f.descriptor in (amqp_wire.BEGIN, amqp_wire.ATTACH)]
