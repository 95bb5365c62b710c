//! One-at-a-time per user: a user's table and chart reloads (`tools/rerun`) run one after another, so no single
//! user can hold every DuckDB query slot and stall everyone else.
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

/// The users with a query in flight.
#[derive(Debug, Default, Clone)]
pub struct UserGate {
    busy: Arc<Mutex<HashSet<Uuid>>>,
}

/// Held while the user's query runs; lets the next one in when dropped.
#[derive(Debug)]
pub struct Entered {
    busy: Arc<Mutex<HashSet<Uuid>>>,
    user: Uuid,
}

impl UserGate {
    /// Lets `user` in unless they already have a query in flight.
    pub fn try_enter(&self, user: Uuid) -> Option<Entered> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        busy.insert(user).then(|| Entered { busy: Arc::clone(&self.busy), user })
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        self.busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_query_per_user_at_a_time() {
        let gate = UserGate::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let first = gate.try_enter(a).expect("a enters");
        assert!(gate.try_enter(a).is_none(), "a is busy");
        let other = gate.try_enter(b).expect("b is not held up by a");
        drop(first);
        assert!(gate.try_enter(a).is_some(), "a may go again");
        drop(other);
    }
}
