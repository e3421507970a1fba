//! Writers under a SIGKILL: a writer may stop only on the connection error
//! the kill causes. An error before the kill, or an error that is an answer
//! from the server (a DynamoDB error, a malformed response), fails the test.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_dynamodb::error::SdkError;

/// Shared between a test and its writers: whether the kill has begun.
#[derive(Clone, Debug, Default)]
pub struct Kill(Arc<AtomicBool>);

impl Kill {
    /// Marks the kill as begun; call it just before sending SIGKILL, so every
    /// error the kill causes comes after it.
    pub fn begin(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the kill has begun.
    pub fn begun(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Panics unless `error`, seen by `writer`, is the kill's: the kill has
    /// begun and the request never got a whole response (the connection was
    /// refused, reset or closed), rather than any answer from the server.
    pub fn expect_caused_by_kill<E: Debug, R: Debug>(&self, writer: &str, error: &SdkError<E, R>) {
        assert!(self.begun(), "{writer} failed before the kill: {error:?}");
        let connection = match error {
            SdkError::DispatchFailure(failure) => failure.is_io() || failure.is_other(),
            // The request was sent and the connection closed before a whole
            // response was read.
            SdkError::ResponseError(_) => true,
            _ => false,
        };
        assert!(
            connection,
            "{writer} failed with an error the kill cannot cause: {error:?}"
        );
    }
}
