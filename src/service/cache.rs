//! The last state this process wrote for each conversation, with its version: a turn on a
//! conversation it knows needs no read before its write. The database stays the truth: the
//! write only applies to the version cached, so a state changed elsewhere (another instance)
//! makes the write fail, the entry is forgotten, and the turn is redone from the database.

use std::collections::HashMap;
use std::sync::Mutex;

use super::messages::Address;
use crate::conversation::state::State;

#[derive(Default)]
pub(super) struct ConversationCache {
    entries: Mutex<HashMap<Address, CachedConversation>>,
}

#[derive(Clone)]
pub(super) struct CachedConversation {
    pub id: i64,
    pub version: i64,
    pub state: State,
}

/// Entries kept before the cache starts over (memory stays bounded; a miss costs one read).
const CACHE_LIMIT: usize = 100_000;

impl ConversationCache {
    pub fn get(&self, key: &Address) -> Option<CachedConversation> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    pub fn put(&self, key: Address, id: i64, version: i64, state: State) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_LIMIT {
                entries.clear();
            }
            entries.insert(key, CachedConversation { id, version, state });
        }
    }

    pub fn forget(&self, key: &Address) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}
