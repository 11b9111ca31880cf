//! Errors, by the scope AMQP closes for them.
//!
//! Place in the flow: every handler returns a [`Fault`]; the session turns a link fault into a
//! detach with the error, the connection turns a session fault into an end and a connection
//! fault into a close, each written before anything is torn down. A [`BrokerError`] from the
//! host becomes the AMQP condition a client sees ([`broker_error`]): on a refused attach, a
//! rejected delivery or a detach. Only a failure of the codec itself is a [`CodecError`].

use std::fmt;

use fe2o3_amqp_types::definitions::{
    AmqpError, ConnectionError, Error, ErrorCondition, LinkError, SessionError,
};
use serde_amqp::primitives::Symbol;
use sluice_sdk::codec::{BrokerError, CodecError, ErrorCode};

/// Bytes that are not what they should be: a frame body that is not a performative, a message
/// section that is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl Malformed {
    /// Says why.
    pub fn new(reason: impl Into<String>) -> Self {
        Malformed(reason.into())
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What went wrong, at the scope AMQP closes for it.
#[derive(Debug)]
pub enum Fault {
    /// Close the connection with this error (after an open, if we sent none yet).
    Connection(Error),
    /// End the session the frame arrived on with this error.
    Session(Error),
    /// Detach the link the frame named with this error.
    Link(Error),
    /// Close the socket with no close frame, since there is no AMQP connection yet (a wrong
    /// protocol header, a failed SASL exchange). What was written before still goes out.
    Hangup(String),
    /// The codec failed (an encoding it could not produce); the host closes the connection.
    Codec(CodecError),
}

impl From<CodecError> for Fault {
    fn from(e: CodecError) -> Self {
        Fault::Codec(e)
    }
}

/// An AMQP error with a description.
pub fn error(condition: impl Into<ErrorCondition>, description: impl Into<String>) -> Error {
    Error::new(condition, Some(description.into()), None)
}

/// A connection fault.
pub fn connection(condition: impl Into<ErrorCondition>, description: impl Into<String>) -> Fault {
    Fault::Connection(error(condition, description))
}

/// A session fault.
pub fn session(condition: impl Into<ErrorCondition>, description: impl Into<String>) -> Fault {
    Fault::Session(error(condition, description))
}

/// A link fault.
pub fn link(condition: impl Into<ErrorCondition>, description: impl Into<String>) -> Fault {
    Fault::Link(error(condition, description))
}

/// A performative or frame that does not decode: the connection closes with
/// `amqp:decode-error`.
pub fn decode_error(what: &str, m: &Malformed) -> Fault {
    connection(AmqpError::DecodeError, format!("malformed {what}: {m}"))
}

/// A framing violation: the connection closes with `amqp:connection:framing-error`.
pub fn framing_error(description: impl Into<String>) -> Fault {
    connection(ConnectionError::FramingError, description)
}

/// A handle outside a session's links.
pub fn unattached_handle(handle: u32) -> Fault {
    session(
        SessionError::UnattachedHandle,
        format!("handle {handle} is not attached"),
    )
}

/// A transfer beyond the link's credit.
pub fn transfer_limit_exceeded() -> Fault {
    link(
        LinkError::TransferLimitExceeded,
        "transfer beyond the link credit",
    )
}

/// The AMQP condition for a failed broker operation.
pub fn condition(e: &BrokerError) -> ErrorCondition {
    match e.code {
        ErrorCode::UnknownAddress
        | ErrorCode::UnknownTopic
        | ErrorCode::UnknownPartition
        | ErrorCode::UnknownConsumer => AmqpError::NotFound.into(),
        ErrorCode::InvalidRouting | ErrorCode::TopicExists | ErrorCode::InvalidRecord => {
            AmqpError::NotAllowed.into()
        }
        ErrorCode::InvalidAddress
        | ErrorCode::InvalidTopic
        | ErrorCode::InvalidPartitions
        | ErrorCode::InvalidConfig
        | ErrorCode::InvalidFilter
        | ErrorCode::OffsetOutOfRange => AmqpError::InvalidField.into(),
        ErrorCode::NotAuthorized => AmqpError::UnauthorizedAccess.into(),
        ErrorCode::ResourceLimit => AmqpError::ResourceLimitExceeded.into(),
        ErrorCode::RecordTooLarge => LinkError::MessageSizeExceeded.into(),
        ErrorCode::CorruptBatch => AmqpError::DecodeError.into(),
        // `unavailable` reaches a client only where nothing can be held for it (an attach):
        // a transient failure, which the client may retry. A send holds its messages instead
        // (see `link::incoming`).
        ErrorCode::OutOfOrderSequence
        | ErrorCode::InvalidProducerEpoch
        | ErrorCode::Storage
        | ErrorCode::Unavailable => AmqpError::InternalError.into(),
    }
}

/// The AMQP error a client sees for a failed broker operation.
pub fn broker_error(e: &BrokerError) -> Error {
    error(condition(e), e.message.clone())
}

/// The condition's symbol, e.g. `amqp:not-found`.
pub fn condition_name(condition: &ErrorCondition) -> String {
    let symbol = match condition {
        ErrorCondition::AmqpError(e) => Symbol::from(e),
        ErrorCondition::ConnectionError(e) => Symbol::from(e),
        ErrorCondition::SessionError(e) => Symbol::from(e),
        ErrorCondition::LinkError(e) => Symbol::from(e),
        ErrorCondition::Custom(s) => s.clone(),
        ErrorCondition::TransactionError(e) => Symbol::from(e),
    };
    symbol.into_inner()
}

/// `condition: description`, for logs and the host's close reason.
pub fn describe(e: &Error) -> String {
    match &e.description {
        Some(d) => format!("{}: {d}", condition_name(&e.condition)),
        None => condition_name(&e.condition),
    }
}

/// A codec failure, closing only this connection.
pub fn refuse(reason: impl Into<String>) -> CodecError {
    CodecError {
        reason: reason.into(),
    }
}
