//! The audit hash chain. Each event's hash is SHA-256 over the previous event's hash and the
//! event's canonical content, so altering, removing or reordering any row breaks the chain
//! from that row on.
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash that precedes a case's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The content that is hashed, in a fixed field order. Old and new values are the JSON text
/// exactly as stored.
#[derive(Debug, Clone, Serialize)]
pub struct EventContent<'a> {
    pub case_id: i64,
    pub seq: i64,
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    pub actor_name: &'a str,
    pub role: &'a str,
    pub action: &'a str,
    pub from_stage: Option<&'a str>,
    pub to_stage: Option<&'a str>,
    pub old_value: &'a str,
    pub new_value: &'a str,
    pub comment: &'a str,
    pub public: bool,
}

pub fn event_hash(prev_hash: &str, content: &EventContent<'_>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    // Serializing a struct of plain fields cannot fail.
    hasher.update(serde_json::to_vec(content).unwrap_or_default());
    hex::encode(hasher.finalize())
}

/// A stored event as read back for verification.
pub struct StoredEvent<'a> {
    pub id: i64,
    pub content: EventContent<'a>,
    pub prev_hash: &'a str,
    pub hash: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub case_id: i64,
    pub event_id: i64,
    pub seq: i64,
    pub reason: &'static str,
}

/// Verifies one case's events, given in `seq` order. Returns the first broken event.
pub fn verify_chain<'a>(
    events: impl IntoIterator<Item = StoredEvent<'a>>,
) -> Result<usize, ChainBreak> {
    let mut prev = GENESIS.to_string();
    let mut count = 0;
    for (expected_seq, e) in (1..).zip(events) {
        let brk = |reason| ChainBreak {
            case_id: e.content.case_id,
            event_id: e.id,
            seq: e.content.seq,
            reason,
        };
        if e.content.seq != expected_seq {
            return Err(brk("sequence gap: an event is missing or reordered"));
        }
        if e.prev_hash != prev {
            return Err(brk("previous-hash link does not match the preceding event"));
        }
        if event_hash(e.prev_hash, &e.content) != e.hash {
            return Err(brk("content does not match its hash: the row was altered"));
        }
        prev = e.hash.to_string();
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(seq: i64, comment: &str) -> EventContent<'_> {
        EventContent {
            case_id: 7,
            seq,
            at_ms: 1_700_000_000_000 + seq,
            actor_id: Some(3),
            actor_name: "reviewer",
            role: "reviewer",
            action: "approve",
            from_stage: Some("initial_review"),
            to_stage: Some("second_review"),
            old_value: "{}",
            new_value: "{}",
            comment,
            public: true,
        }
    }

    #[test]
    fn detects_an_altered_event() {
        let h1 = event_hash(GENESIS, &content(1, "a"));
        let h2 = event_hash(&h1, &content(2, "b"));
        let good = || {
            vec![
                StoredEvent {
                    id: 1,
                    content: content(1, "a"),
                    prev_hash: GENESIS,
                    hash: &h1,
                },
                StoredEvent {
                    id: 2,
                    content: content(2, "b"),
                    prev_hash: &h1,
                    hash: &h2,
                },
            ]
        };
        assert_eq!(verify_chain(good()), Ok(2));
        let mut bad = good();
        bad[0].content.comment = "edited";
        assert_eq!(verify_chain(bad).unwrap_err().event_id, 1);
        let mut gap = good();
        gap.remove(0);
        assert_eq!(
            verify_chain(gap).unwrap_err().reason,
            "sequence gap: an event is missing or reordered"
        );
    }
}
