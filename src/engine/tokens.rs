//! Client request tokens: TransactWriteItems' idempotency. A transaction
//! that succeeded with a token is answered again, without being applied
//! again, when the same request comes with the same token within ten
//! minutes; the same token with a different request is refused, and so is
//! one whose transaction is still running.
//!
//! Tokens live in the region's memory: a restart forgets them (the
//! transactions they answered for are durable either way).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::error::EngineError;
use super::txn::WriteOutcome;

/// How long a token answers for its transaction, as DynamoDB's.
pub const TOKEN_WINDOW: Duration = Duration::from_secs(600);

/// A transaction's ClientRequestToken and a fingerprint of the request it
/// came with (what "the same request" compares).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientToken {
    pub token: String,
    pub fingerprint: u64,
}

/// What a transaction's outcomes are, shared by every answer given for it.
pub type Outcomes = Arc<Vec<WriteOutcome>>;

enum Entry {
    Running,
    Done { fingerprint: u64, outcomes: Outcomes },
}

/// The tokens of the last ten minutes' transactions, and of those running.
#[derive(Default)]
pub(super) struct Tokens {
    state: Mutex<TokenState>,
}

#[derive(Default)]
struct TokenState {
    entries: HashMap<String, Entry>,
    /// Finished tokens, oldest first, to forget them when their window ends.
    finished: VecDeque<(Instant, String)>,
}

/// What `Tokens::begin` decided.
pub(super) enum Begun {
    /// The token is new (or its window ended): run the transaction.
    Run,
    /// The same request succeeded with this token: answer it again.
    Replay(Outcomes),
}

impl Tokens {
    /// Registers `token` as running, or answers why its transaction must
    /// not run.
    pub(super) fn begin(&self, token: &ClientToken, now: Instant) -> Result<Begun, EngineError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.forget_expired(now);
        match state.entries.get(&token.token) {
            Some(Entry::Running) => Err(EngineError::TokenInProgress),
            Some(Entry::Done { fingerprint, .. }) if *fingerprint != token.fingerprint => {
                Err(EngineError::TokenMismatch)
            }
            Some(Entry::Done { outcomes, .. }) => Ok(Begun::Replay(outcomes.clone())),
            None => {
                state.entries.insert(token.token.clone(), Entry::Running);
                Ok(Begun::Run)
            }
        }
    }

    /// Records how the transaction `begin` let run ended: a success
    /// answers for the token for `TOKEN_WINDOW`; a failure frees it (a
    /// cancelled transaction may be tried again with the same token).
    pub(super) fn finish(&self, token: &ClientToken, outcome: Option<Outcomes>, now: Instant) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Some(outcomes) => {
                let entry = Entry::Done {
                    fingerprint: token.fingerprint,
                    outcomes,
                };
                state.entries.insert(token.token.clone(), entry);
                state.finished.push_back((now, token.token.clone()));
            }
            None => {
                state.entries.remove(&token.token);
            }
        }
    }
}

impl TokenState {
    fn forget_expired(&mut self, now: Instant) {
        while let Some((at, _)) = self.finished.front() {
            if now.saturating_duration_since(*at) < TOKEN_WINDOW {
                break;
            }
            if let Some((_, token)) = self.finished.pop_front() {
                // A token used again after its window is running anew.
                if matches!(self.entries.get(&token), Some(Entry::Done { .. })) {
                    self.entries.remove(&token);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(fingerprint: u64) -> ClientToken {
        ClientToken {
            token: "t".into(),
            fingerprint,
        }
    }

    fn done() -> Outcomes {
        Arc::new(vec![WriteOutcome { old: None, new: None }])
    }

    #[test]
    fn a_token_replays_its_success_for_ten_minutes_then_runs_anew() {
        let tokens = Tokens::default();
        let start = Instant::now();
        assert!(matches!(tokens.begin(&token(1), start), Ok(Begun::Run)));
        assert!(matches!(
            tokens.begin(&token(1), start),
            Err(EngineError::TokenInProgress)
        ));
        tokens.finish(&token(1), Some(done()), start);
        let later = start + TOKEN_WINDOW - Duration::from_secs(1);
        assert!(matches!(tokens.begin(&token(1), later), Ok(Begun::Replay(o)) if o.len() == 1));
        assert!(matches!(
            tokens.begin(&token(2), later),
            Err(EngineError::TokenMismatch)
        ));
        let expired = start + TOKEN_WINDOW;
        assert!(matches!(tokens.begin(&token(2), expired), Ok(Begun::Run)));
    }

    #[test]
    fn a_failed_transaction_frees_its_token() {
        let tokens = Tokens::default();
        let now = Instant::now();
        assert!(matches!(tokens.begin(&token(1), now), Ok(Begun::Run)));
        tokens.finish(&token(1), None, now);
        assert!(matches!(tokens.begin(&token(2), now), Ok(Begun::Run)));
    }
}
