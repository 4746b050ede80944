//! What `audit verify` holds the trail against besides its own hash chain: the state the
//! events replay to (which the case and claim rows must equal), and the keyed checkpoint
//! over every chain's head (which a rewrite of the database alone cannot forge).
use super::audit::StoredEvent;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// What a case's trail says its rows hold now. Every event that moves the case says so in
/// its new value: a `stage` key (with its `outcome`) for a transition, an `assignee_id` key
/// for a change of holder, a `decision` with its `decided_fen` for a claim's decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailState {
    pub stage: Option<String>,
    pub outcome: Option<String>,
    pub assignee_id: Option<i64>,
    /// The claim's decided amount; `None` until a decision event.
    pub decided_fen: Option<i64>,
}

impl TrailState {
    /// Replays a case's events, given in `seq` order.
    pub fn replay<'e>(events: impl IntoIterator<Item = &'e StoredEvent>) -> TrailState {
        let mut state = TrailState::default();
        for e in events {
            state.apply(&e.event.new_value);
        }
        state
    }

    fn apply(&mut self, new_value: &str) {
        let Ok(serde_json::Value::Object(new)) = serde_json::from_str(new_value) else {
            return;
        };
        if let Some(stage) = new.get("stage") {
            self.stage = stage.as_str().map(str::to_string);
            self.outcome = new
                .get("outcome")
                .and_then(|o| o.as_str())
                .map(str::to_string);
            // A transition leaves the case in the pool; a later event may assign it.
            self.assignee_id = None;
        }
        if let Some(assignee) = new.get("assignee_id") {
            self.assignee_id = assignee.as_i64();
        }
        if let Some(decided) = new
            .get("decision")
            .and_then(|d| d.get("decided_fen"))
            .and_then(|f| f.as_i64())
        {
            self.decided_fen = Some(decided);
        }
    }

    /// Where the rows contradict the trail, one line per field: `field: row says …, trail says …`.
    /// `decided_fen` is compared only for claims (`row.decided_fen` given).
    pub fn contradictions(&self, row: &TrailState, is_claim: bool) -> Vec<String> {
        let mut found = Vec::new();
        let mut compare = |field: &str, row: String, trail: String| {
            if row != trail {
                found.push(format!(
                    "{field}: the row says {row}, the trail says {trail}"
                ));
            }
        };
        compare("stage", shown(&row.stage), shown(&self.stage));
        compare("outcome", shown(&row.outcome), shown(&self.outcome));
        compare(
            "assignee_id",
            shown(&row.assignee_id),
            shown(&self.assignee_id),
        );
        if is_claim {
            compare(
                "decided_fen",
                shown(&row.decided_fen),
                shown(&self.decided_fen),
            );
        }
        found
    }
}

fn shown<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "none".to_string(), T::to_string)
}

/// The MAC a checkpoint carries: HMAC-SHA256, under a key kept outside the database, over
/// the previous checkpoint's MAC, this checkpoint's own fields and every chain head it
/// records in case order. Chained through the previous MAC, so no checkpoint can be removed
/// or edited either.
pub struct CheckpointMac(Hmac<Sha256>);

/// The fields of a checkpoint row the MAC covers besides its heads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointFields<'a> {
    pub id: i64,
    pub at_ms: i64,
    pub max_event_id: i64,
    pub events: i64,
    pub prev_mac: &'a str,
    /// The head of the sign-in chain (last id and its hash); id 0 before the first sign-in,
    /// which leaves the MAC as checkpoints written before the chain existed computed it.
    pub login_head: (i64, &'a str),
}

/// One sign-in attempt, as its chained hash covers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignIn<'a> {
    pub at_ms: i64,
    pub username: &'a str,
    pub user_id: Option<i64>,
    pub address: &'a str,
    pub outcome: &'a str,
}

impl SignIn<'_> {
    /// SHA-256 over the previous hash and every field, each length-prefixed so that no two
    /// different attempts can share an encoding.
    pub fn hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        let user = self.user_id.map(|u| u.to_string()).unwrap_or_default();
        for field in [
            prev_hash,
            &self.at_ms.to_string(),
            self.username,
            &user,
            self.address,
            self.outcome,
        ] {
            h.update(field.len().to_string().as_bytes());
            h.update(b":");
            h.update(field.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

impl CheckpointMac {
    pub fn new(key: &[u8], f: &CheckpointFields<'_>) -> CheckpointMac {
        // HMAC takes a key of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
        let fields = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            f.prev_mac, f.id, f.at_ms, f.max_event_id, f.events
        );
        mac.update(fields.as_bytes());
        if f.login_head.0 > 0 {
            mac.update(format!("login:{}:{}\n", f.login_head.0, f.login_head.1).as_bytes());
        }
        CheckpointMac(mac)
    }

    pub fn add_head(&mut self, case_id: i64, seq: i64, hash: &str) {
        self.0
            .update(format!("{case_id}:{seq}:{hash}\n").as_bytes());
    }

    pub fn finish(self) -> String {
        hex::encode(self.0.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::Event;

    fn event(new_value: &str) -> StoredEvent {
        StoredEvent {
            id: 1,
            event: Event::new(None, "system", "system", "x", 0).values("{}", new_value.to_string()),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn replays_transitions_holders_and_decisions() {
        let trail = [
            event(r#"{"stage":"initial_review","workflow":"trauma"}"#),
            event(r#"{"assignee_id":7,"assignee":"rev"}"#),
            event(r#"{"document_id":3}"#),
            event(r#"{"stage":"second_review","outcome":null}"#),
            event(r#"{"assignee_id":9}"#),
            event(r#"{"stage":null,"outcome":"approved","decision":{"decided_fen":120000}}"#),
        ];
        let state = TrailState::replay(&trail);
        assert_eq!(
            state,
            TrailState {
                stage: None,
                outcome: Some("approved".into()),
                assignee_id: None,
                decided_fen: Some(120_000),
            }
        );
        let mut row = state.clone();
        assert!(state.contradictions(&row, true).is_empty());
        row.decided_fen = Some(999);
        row.assignee_id = Some(9);
        assert_eq!(
            state.contradictions(&row, true),
            vec![
                "assignee_id: the row says 9, the trail says none".to_string(),
                "decided_fen: the row says 999, the trail says 120000".to_string(),
            ]
        );
        assert_eq!(
            state.contradictions(&row, false).len(),
            1,
            "no amount on a violation case"
        );
    }

    #[test]
    fn a_checkpoint_mac_depends_on_key_fields_and_heads() {
        let fields = CheckpointFields {
            id: 1,
            at_ms: 5,
            max_event_id: 10,
            events: 10,
            prev_mac: "",
            login_head: (0, ""),
        };
        let mac = |key: &[u8], f: &CheckpointFields<'_>, hash: &str| {
            let mut m = CheckpointMac::new(key, f);
            m.add_head(3, 4, hash);
            m.finish()
        };
        let base = mac(b"key", &fields, "aa");
        assert_eq!(base, mac(b"key", &fields, "aa"));
        assert_ne!(base, mac(b"other", &fields, "aa"));
        assert_ne!(base, mac(b"key", &fields, "ab"));
        let later = CheckpointFields {
            events: 9,
            ..fields.clone()
        };
        assert_ne!(base, mac(b"key", &later, "aa"));
        let signed_in = CheckpointFields {
            login_head: (7, "cc"),
            ..fields.clone()
        };
        assert_ne!(base, mac(b"key", &signed_in, "aa"));
    }

    #[test]
    fn a_sign_in_hash_covers_every_field_and_its_predecessor() {
        let a = SignIn {
            at_ms: 1,
            username: "ab",
            user_id: Some(3),
            address: "127.0.0.1",
            outcome: "failed",
        };
        let h = a.hash("");
        assert_eq!(h, a.hash(""));
        assert_ne!(h, a.hash("x"));
        assert_ne!(
            h,
            SignIn {
                outcome: "succeeded",
                ..a
            }
            .hash("")
        );
        assert_ne!(h, SignIn { user_id: None, ..a }.hash(""));
        // Length prefixes: moving a character between fields changes the hash.
        assert_ne!(
            SignIn {
                username: "a",
                address: "b127.0.0.1",
                ..a
            }
            .hash(""),
            SignIn {
                username: "ab",
                address: "127.0.0.1",
                ..a
            }
            .hash("")
        );
    }
}
