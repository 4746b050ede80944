//! The audit hash chain. Each event's hash is SHA-256 over the previous event's hash and the
//! event's canonical content, so altering, removing or reordering any row breaks the chain
//! from that row on.
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// The hash that precedes a case's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event of a case's audit trail: who did what, in which role, from which stage to
/// which, the old and new values as JSON text, and a comment. The same type is drafted by
/// the services, hashed here, and written and read by the store: its strings are borrowed
/// while drafting and owned once read back. Serialized in this field order, it is the
/// content the chain hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Event<'a> {
    pub case_id: i64,
    pub seq: i64,
    pub at_ms: i64,
    /// Absent for events with no user behind them (the system, a public submission).
    pub actor_id: Option<i64>,
    #[schema(value_type = String)]
    pub actor_name: Cow<'a, str>,
    #[schema(value_type = String)]
    pub role: Cow<'a, str>,
    #[schema(value_type = String)]
    pub action: Cow<'a, str>,
    #[schema(value_type = Option<String>)]
    pub from_stage: Option<Cow<'a, str>>,
    #[schema(value_type = Option<String>)]
    pub to_stage: Option<Cow<'a, str>>,
    #[schema(value_type = String)]
    pub old_value: Cow<'a, str>,
    #[schema(value_type = String)]
    pub new_value: Cow<'a, str>,
    #[schema(value_type = String)]
    pub comment: Cow<'a, str>,
    /// Shown to the resident on their timeline. Internal remarks are not.
    pub public: bool,
}

/// An event's old or new value: JSON text, from a literal, a string or a JSON value.
pub struct Value<'a>(Cow<'a, str>);

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value(Cow::Borrowed(s))
    }
}

impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value(Cow::Owned(s))
    }
}

impl From<serde_json::Value> for Value<'_> {
    fn from(v: serde_json::Value) -> Self {
        Value(Cow::Owned(v.to_string()))
    }
}

/// The actor name of events the system records on its own (escalations, leases that ran out).
pub const SYSTEM: &str = "system";

impl<'a> Event<'a> {
    /// A public event by `actor` acting as `role`, with empty values. Its case and place in
    /// the chain are filled in when the store appends it.
    pub fn new(
        actor_id: Option<i64>,
        actor_name: &'a str,
        role: &'a str,
        action: &'a str,
        at_ms: i64,
    ) -> Self {
        Event {
            case_id: 0,
            seq: 0,
            at_ms,
            actor_id,
            actor_name: Cow::Borrowed(actor_name),
            role: Cow::Borrowed(role),
            action: Cow::Borrowed(action),
            from_stage: None,
            to_stage: None,
            old_value: Cow::Borrowed("{}"),
            new_value: Cow::Borrowed("{}"),
            comment: Cow::Borrowed(""),
            public: true,
        }
    }

    /// An event the system records on its own.
    pub fn system(action: &'a str, at_ms: i64) -> Self {
        Event::new(None, SYSTEM, SYSTEM, action, at_ms)
    }

    pub fn stages(mut self, from: Option<&'a str>, to: Option<&'a str>) -> Self {
        self.from_stage = from.map(Cow::Borrowed);
        self.to_stage = to.map(Cow::Borrowed);
        self
    }

    pub fn values(mut self, old: impl Into<Value<'a>>, new: impl Into<Value<'a>>) -> Self {
        self.old_value = old.into().0;
        self.new_value = new.into().0;
        self
    }

    pub fn comment(mut self, comment: &'a str) -> Self {
        self.comment = Cow::Borrowed(comment);
        self
    }

    /// Kept from the resident's timeline.
    pub fn internal(self) -> Self {
        self.public(false)
    }

    /// Shown on the resident's timeline, or not.
    pub fn public(mut self, public: bool) -> Self {
        self.public = public;
        self
    }

    /// The same event as event `seq` of case `case_id`.
    pub fn at(mut self, case_id: i64, seq: i64) -> Self {
        self.case_id = case_id;
        self.seq = seq;
        self
    }

    /// SHA-256 over the previous event's hash and this event's canonical content.
    pub fn hash(&self, prev_hash: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(prev_hash.as_bytes());
        // Serializing a struct of plain fields cannot fail.
        hasher.update(serde_json::to_vec(self).unwrap_or_default());
        hex::encode(hasher.finalize())
    }
}

/// Where a case's chain ends: its last event's sequence number and hash. The case row keeps
/// it, so that appending needs no read of the trail and a shortened trail is detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

impl ChainHead {
    /// The head of a case with no events yet.
    pub fn genesis() -> ChainHead {
        ChainHead {
            seq: 0,
            hash: GENESIS.to_string(),
        }
    }
}

/// A stored event with its place in the chain, as read back.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredEvent {
    pub id: i64,
    #[serde(flatten)]
    pub event: Event<'static>,
    pub prev_hash: String,
    pub hash: String,
}

/// A stored event reads as its event: `stored.action`, `stored.at_ms`.
impl std::ops::Deref for StoredEvent {
    type Target = Event<'static>;

    fn deref(&self) -> &Event<'static> {
        &self.event
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub case_id: i64,
    pub event_id: i64,
    pub seq: i64,
    pub reason: Cow<'static, str>,
}

/// Verifies one case's events, given in `seq` order. Returns how many there are and the
/// head they end in, or the first broken event.
pub fn verify_chain<'e>(
    events: impl IntoIterator<Item = &'e StoredEvent>,
) -> Result<(usize, ChainHead), ChainBreak> {
    let mut head = ChainHead::genesis();
    let mut count = 0;
    for (expected_seq, e) in (1..).zip(events) {
        let brk = |reason: &'static str| ChainBreak {
            case_id: e.event.case_id,
            event_id: e.id,
            seq: e.event.seq,
            reason: Cow::Borrowed(reason),
        };
        if e.event.seq != expected_seq {
            return Err(brk("sequence gap: an event is missing or reordered"));
        }
        if e.prev_hash != head.hash {
            return Err(brk("previous-hash link does not match the preceding event"));
        }
        if e.event.hash(&e.prev_hash) != e.hash {
            return Err(brk("content does not match its hash: the row was altered"));
        }
        head = ChainHead {
            seq: e.event.seq,
            hash: e.hash.clone(),
        };
        count += 1;
    }
    Ok((count, head))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(seq: i64, comment: &'static str, prev: &str) -> StoredEvent {
        let event = Event::new(
            Some(3),
            "reviewer",
            "reviewer",
            "approve",
            1_700_000_000_000 + seq,
        )
        .stages(Some("initial_review"), Some("second_review"))
        .comment(comment)
        .at(7, seq);
        StoredEvent {
            id: seq,
            hash: event.hash(prev),
            event,
            prev_hash: prev.to_string(),
        }
    }

    #[test]
    fn detects_an_altered_event() {
        let first = stored(1, "a", GENESIS);
        let second = stored(2, "b", &first.hash);
        let good = vec![first.clone(), second.clone()];
        let (count, head) = verify_chain(&good).unwrap();
        assert_eq!(
            (count, head.seq, head.hash.as_str()),
            (2, 2, second.hash.as_str())
        );
        let mut bad = good.clone();
        bad[0].event.comment = Cow::Borrowed("edited");
        assert_eq!(verify_chain(&bad).unwrap_err().event_id, 1);
        let gap = vec![second];
        assert_eq!(
            verify_chain(&gap).unwrap_err().reason,
            "sequence gap: an event is missing or reordered"
        );
    }

    #[test]
    fn the_hash_covers_every_field_in_a_fixed_order() {
        let e = Event::new(None, "system", "system", "escalated", 5).at(1, 1);
        let json = serde_json::to_string(&e).unwrap();
        assert!(
            json.starts_with(
                r#"{"case_id":1,"seq":1,"at_ms":5,"actor_id":null,"actor_name":"system""#
            ),
            "{json}"
        );
        assert_ne!(e.hash(GENESIS), e.clone().internal().hash(GENESIS));
    }
}
