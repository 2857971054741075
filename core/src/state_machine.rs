//! The replicated state machine: a trait, and the layer that applies committed
//! entries exactly once per client request (Raft thesis §6.3).

use crate::packed;
use crate::types::{ClientId, Entry, Index, Payload, SnapshotMeta, Term};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Thesis §6.3: a client session remembers where each of the client's latest
/// `SESSION_WINDOW` requests (by sequence number) was applied. Older records
/// expire; see [`Session`].
pub const SESSION_WINDOW: usize = 1024;

/// Where a command sits in the log, handed to the state machine with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandMeta {
    pub index: Index,
    pub term: Term,
    pub client: ClientId,
    pub seq: u64,
}

/// A deterministic state machine replicated by Raft. `apply` sees each client
/// request once, in log order, on every replica. It serializes, for snapshots
/// (thesis chapter 5).
pub trait StateMachine: Default + Serialize + DeserializeOwned {
    type Command: Clone + std::fmt::Debug + PartialEq;
    fn apply(&mut self, meta: CommandMeta, command: &Self::Command);
    /// About how many bytes `command` takes in a log: the snapshot threshold
    /// compares the log's size with the snapshot's.
    fn command_bytes(_command: &Self::Command) -> usize {
        std::mem::size_of::<Self::Command>()
    }
}

/// What applying one entry did: what the invariant checker compares across
/// replicas. A replica hands each one out ([`Replica::apply`]) and keeps none;
/// the simulator keeps the latest for the checker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppliedKind {
    Noop,
    Config,
    /// A request applied to the state machine.
    Command {
        client: ClientId,
        seq: u64,
    },
    /// A retried request already applied at `original`: skipped.
    Duplicate {
        client: ClientId,
        seq: u64,
        original: Index,
    },
    /// The state was replaced by a snapshot covering the log up to `index`.
    Snapshot,
    /// A request whose sequence number is older than its client's session
    /// remembers (§6.3 expiry): whether it was applied before cannot be told,
    /// so it is not applied now, and its client is told so.
    Expired {
        client: ClientId,
        seq: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub index: Index,
    pub term: Term,
    pub kind: AppliedKind,
    /// A digest of everything applied up to `index` (indexes, terms and what
    /// each entry did): two replicas at one index agree iff their digests do,
    /// which lets the checker compare a snapshot with the log it replaced.
    pub digest: u64,
}

/// One client's session (thesis §6.3): where each of its latest requests was
/// applied. The rule, the same on every replica because it depends only on the
/// applied log:
/// - a session keeps the records of the client's [`SESSION_WINDOW`] highest
///   applied sequence numbers; applying one more drops the lowest record and
///   raises `expired_through` to its sequence number;
/// - a request at or below `expired_through` without a record is *expired*: it
///   is never applied (so never applied twice), and its client gets
///   `FailReason::SessionExpired`.
///
/// A client keeps few requests open at once (a chat pane, one), so only a retry
/// made after a thousand later requests of the same client were applied can
/// meet an expired session. Clients are few (one per chat pane), so sessions
/// are not expired as a whole.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Session {
    /// (seq, index, term), ordered by seq: requests arrive mostly in order, so
    /// recording one is a push at the back and the window drops from the front.
    applied: VecDeque<(u64, Index, Term)>,
    expired_through: u64,
}

/// A session as JSON shows it.
#[derive(Serialize, Deserialize)]
struct SessionFields<A> {
    applied: A,
    expired_through: u64,
}

impl Serialize for Session {
    /// Binary: packed, each record as differences from the one before.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return SessionFields {
                applied: &self.applied,
                expired_through: self.expired_through,
            }
            .serialize(s);
        }
        packed::serialize(s, 8 + 6 * self.applied.len(), |p| {
            p.u64(self.expired_through);
            p.u64(self.applied.len() as u64);
            let mut prev = (0, 0, 0);
            for &(seq, index, term) in &self.applied {
                p.delta(seq, prev.0);
                p.delta(index, prev.1);
                p.delta(term, prev.2);
                prev = (seq, index, term);
            }
        })
    }
}

impl<'de> Deserialize<'de> for Session {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let session = if d.is_human_readable() {
            let f = SessionFields::<VecDeque<(u64, Index, Term)>>::deserialize(d)?;
            Session {
                applied: f.applied,
                expired_through: f.expired_through,
            }
        } else {
            packed::deserialize(d, |u| {
                let expired_through = u.u64()?;
                let n = u.count(3)?;
                let mut applied = VecDeque::with_capacity(n);
                let mut prev = (0, 0, 0);
                for _ in 0..n {
                    prev = (u.delta(prev.0)?, u.delta(prev.1)?, u.delta(prev.2)?);
                    applied.push_back(prev);
                }
                Ok(Session {
                    applied,
                    expired_through,
                })
            })?
        };
        // `find` relies on the order.
        if !session
            .applied
            .iter()
            .zip(session.applied.iter().skip(1))
            .all(|(a, b)| a.0 < b.0)
        {
            return Err(serde::de::Error::custom(
                "a session's records are not in sequence order",
            ));
        }
        Ok(session)
    }
}

/// What a request's session says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionLookup {
    /// Applied at this index and term.
    Applied(Index, Term),
    /// Not applied (as far as the session knows): apply it.
    New,
    /// Older than the session remembers: never apply it.
    Expired,
}

impl Session {
    fn find(&self, seq: u64) -> Result<usize, usize> {
        match self.applied.back() {
            Some(&(last, _, _)) if seq > last => Err(self.applied.len()),
            _ => self.applied.binary_search_by_key(&seq, |r| r.0),
        }
    }

    fn lookup(&self, seq: u64) -> SessionLookup {
        self.verdict(seq, self.find(seq))
    }

    /// What `find`'s answer for `seq` means.
    fn verdict(&self, seq: u64, found: Result<usize, usize>) -> SessionLookup {
        match found {
            Ok(i) => {
                let (_, index, term) = self.applied[i];
                SessionLookup::Applied(index, term)
            }
            Err(_) if seq <= self.expired_through => SessionLookup::Expired,
            Err(_) => SessionLookup::New,
        }
    }

    /// What the session says of `seq`; if it is new, it is recorded as
    /// applied at `index` and `term` (one search for both).
    fn lookup_or_record(&mut self, seq: u64, index: Index, term: Term) -> SessionLookup {
        let found = self.find(seq);
        let verdict = self.verdict(seq, found);
        if let (SessionLookup::New, Err(i)) = (verdict, found) {
            self.insert_at(i, seq, index, term);
        }
        verdict
    }

    /// Inserts a record where `find` said it belongs, then keeps the window.
    fn insert_at(&mut self, i: usize, seq: u64, index: Index, term: Term) {
        if i == self.applied.len() {
            self.applied.push_back((seq, index, term));
        } else {
            // The record made in each branch: one made once for both went
            // through the stack, and the common push above read it back
            // across three stores (a store-forwarding stall).
            self.applied.insert(i, (seq, index, term));
        }
        if self.applied.len() > SESSION_WINDOW {
            if let Some((oldest, _, _)) = self.applied.pop_front() {
                self.expired_through = self.expired_through.max(oldest);
            }
        }
    }
}

/// What a snapshot holds: the state machine, the client sessions, and the
/// digest of the history it stands for.
#[derive(Serialize, Deserialize)]
struct ReplicaImage<M> {
    last_applied: Index,
    digest: u64,
    sessions: BTreeMap<ClientId, Session>,
    machine: M,
}

/// Where a snapshot is written. postcard hands over a varint or a short string
/// at a time; copying those byte by byte beats a `memcpy` call for each (the
/// calls were a tenth of the load benchmark's time).
struct SnapshotWriter(Vec<u8>);

impl postcard::ser_flavors::Flavor for SnapshotWriter {
    type Output = Vec<u8>;

    #[inline]
    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    #[inline]
    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        if bytes.len() <= 16 {
            self.0.reserve(bytes.len());
            bytes.iter().for_each(|&b| self.0.push(b));
        } else {
            self.0.extend_from_slice(bytes);
        }
        Ok(())
    }

    fn finalize(self) -> postcard::Result<Vec<u8>> {
        Ok(self.0)
    }
}

/// A [`ReplicaImage`] borrowed from a replica, to write without copying.
#[derive(Serialize)]
struct ReplicaImageRef<'a, M> {
    last_applied: Index,
    digest: u64,
    sessions: &'a BTreeMap<ClientId, Session>,
    machine: &'a M,
}

/// The snapshot format of raftchat 0.1 (JSON, sessions without expiry), still
/// read so that a cluster saved by it restores.
#[cfg(feature = "json-snapshots")]
#[derive(Deserialize)]
struct LegacyImage<M> {
    last_applied: Index,
    digest: u64,
    sessions: BTreeMap<ClientId, BTreeMap<u64, (Index, Term)>>,
    machine: M,
}

/// Snapshots start with this tag, then the image in postcard (a compact binary
/// serde format) with its bulk — messages, session records — packed
/// ([`packed`]): about a fifth of the JSON's size and much faster to write.
const SNAPSHOT_TAG: &[u8; 4] = b"RCS3";

/// A state machine plus its client sessions and the digest of what it applied.
/// Volatile: a restarted node rebuilds it by re-applying the committed log.
#[derive(Clone, Debug)]
pub struct Replica<M> {
    machine: M,
    last_applied: Index,
    /// Client sessions (thesis §6.3). Ordered maps: a snapshot's bytes depend on
    /// the state only.
    sessions: BTreeMap<ClientId, Session>,
    digest: u64,
    /// The size of the last snapshot written, to size the next one's buffer.
    last_snapshot_bytes: std::cell::Cell<usize>,
}

impl<M: Default> Default for Replica<M> {
    fn default() -> Self {
        Replica {
            machine: M::default(),
            last_applied: 0,
            sessions: BTreeMap::new(),
            digest: 0,
            last_snapshot_bytes: std::cell::Cell::new(0),
        }
    }
}

/// One step of the history digest: FNV-1a's multiply, a word at a time.
fn fold_digest(digest: u64, words: [u64; 5]) -> u64 {
    let mut h = digest ^ 0xcbf2_9ce4_8422_2325;
    for w in words {
        h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3);
        h ^= h >> 29;
    }
    h
}

impl<M: StateMachine> Replica<M> {
    pub fn machine(&self) -> &M {
        &self.machine
    }

    pub fn last_applied(&self) -> Index {
        self.last_applied
    }

    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Serializes the state machine and its sessions (a snapshot's data).
    pub fn snapshot(&self) -> Arc<[u8]> {
        let image = ReplicaImageRef {
            last_applied: self.last_applied,
            digest: self.digest,
            sessions: &self.sessions,
            machine: &self.machine,
        };
        // Room for about the last snapshot's size: no growing while writing.
        let mut data = Vec::with_capacity(self.last_snapshot_bytes.get().max(1024));
        data.extend_from_slice(SNAPSHOT_TAG);
        // Serializing plain data into memory cannot fail.
        let data =
            postcard::serialize_with_flavor(&image, SnapshotWriter(data)).unwrap_or_default();
        self.last_snapshot_bytes.set(data.len() + data.len() / 8);
        data.into()
    }

    /// Reads a snapshot's data: the binary format; with the `json-snapshots`
    /// feature also its JSON form ([`Replica::snapshot_json`]) and the JSON of
    /// earlier raftchat versions.
    fn decode(meta: &SnapshotMeta, data: &[u8]) -> Result<ReplicaImage<M>, String> {
        let unreadable = |e: &dyn std::fmt::Display| {
            format!("snapshot at index {} is unreadable: {e}", meta.index)
        };
        if let Some(body) = data.strip_prefix(SNAPSHOT_TAG) {
            return postcard::from_bytes(body).map_err(|e| unreadable(&e));
        }
        Self::decode_json(data).map_err(|e| unreadable(&e))
    }

    #[cfg(not(feature = "json-snapshots"))]
    fn decode_json(_data: &[u8]) -> Result<ReplicaImage<M>, String> {
        Err("it is not in the binary format (a JSON snapshot of an earlier raftchat, which this build does not read)".into())
    }

    #[cfg(feature = "json-snapshots")]
    fn decode_json(data: &[u8]) -> Result<ReplicaImage<M>, String> {
        if let Ok(image) = serde_json::from_slice::<ReplicaImage<M>>(data) {
            return Ok(image);
        }
        let old: LegacyImage<M> = serde_json::from_slice(data).map_err(|e| e.to_string())?;
        Ok(ReplicaImage {
            last_applied: old.last_applied,
            digest: old.digest,
            sessions: old
                .sessions
                .into_iter()
                .map(|(client, records)| {
                    let mut session = Session::default();
                    // In sequence order: each record is new to the session.
                    for (seq, (index, term)) in records {
                        session.lookup_or_record(seq, index, term);
                    }
                    (client, session)
                })
                .collect(),
            machine: old.machine,
        })
    }

    /// A snapshot's data as JSON text, which [`Replica::restore`] reads too
    /// (with the `json-snapshots` feature; the page leaves it out, to stay small).
    #[cfg(feature = "json-snapshots")]
    pub fn snapshot_json(meta: &SnapshotMeta, data: &[u8]) -> Result<String, String>
    where
        M: Serialize,
    {
        let image = Self::decode(meta, data)?;
        serde_json::to_string(&image).map_err(|e| e.to_string())
    }

    /// Replaces the state with a snapshot's; returns the record of it. On
    /// error nothing changes.
    pub fn restore(&mut self, meta: &SnapshotMeta, data: &[u8]) -> Result<Applied, String> {
        let image = Self::decode(meta, data)?;
        if image.last_applied != meta.index {
            return Err(format!(
                "snapshot labelled index {} holds the state at index {}",
                meta.index, image.last_applied
            ));
        }
        self.machine = image.machine;
        self.sessions = image.sessions;
        self.last_applied = image.last_applied;
        self.digest = image.digest;
        Ok(Applied {
            index: meta.index,
            term: meta.term,
            kind: AppliedKind::Snapshot,
            digest: self.digest,
        })
    }

    /// Where request (`client`, `seq`) was applied, if its session remembers.
    pub fn applied_at(&self, client: ClientId, seq: u64) -> Option<(Index, Term)> {
        match self.session_lookup(client, seq) {
            SessionLookup::Applied(index, term) => Some((index, term)),
            _ => None,
        }
    }

    /// What the client's session says of request (`client`, `seq`).
    pub fn session_lookup(&self, client: ClientId, seq: u64) -> SessionLookup {
        self.sessions
            .get(&client)
            .map_or(SessionLookup::New, |s| s.lookup(seq))
    }

    /// Figure 2, all servers: "If commitIndex > lastApplied: increment lastApplied,
    /// apply log\[lastApplied\] to state machine".
    #[inline]
    pub fn apply(&mut self, entry: &Entry<M::Command>) -> Applied {
        assert_eq!(
            entry.index,
            self.last_applied + 1,
            "entries are applied in log order, each once"
        );
        self.last_applied = entry.index;
        let kind = match &entry.payload {
            Payload::Noop => AppliedKind::Noop,
            Payload::Config(_) => AppliedKind::Config,
            Payload::Command(r) => {
                // One search of the session map: a request of a client with no
                // session yet is new, and starts one.
                let session = self.sessions.entry(r.client).or_default();
                match session.lookup_or_record(r.seq, entry.index, entry.term) {
                    SessionLookup::Applied(original, _) => AppliedKind::Duplicate {
                        client: r.client,
                        seq: r.seq,
                        original,
                    },
                    SessionLookup::Expired => AppliedKind::Expired {
                        client: r.client,
                        seq: r.seq,
                    },
                    SessionLookup::New => {
                        let meta = CommandMeta {
                            index: entry.index,
                            term: entry.term,
                            client: r.client,
                            seq: r.seq,
                        };
                        self.machine.apply(meta, &r.command);
                        AppliedKind::Command {
                            client: r.client,
                            seq: r.seq,
                        }
                    }
                }
            }
        };
        let (tag, a, b) = match kind {
            AppliedKind::Noop => (0, 0, 0),
            AppliedKind::Config => (1, 0, 0),
            AppliedKind::Command { client, seq } => (2, client, seq),
            AppliedKind::Duplicate { client, seq, .. } => (3, client, seq),
            AppliedKind::Snapshot => (4, 0, 0),
            AppliedKind::Expired { client, seq } => (5, client, seq),
        };
        self.digest = fold_digest(self.digest, [entry.index, entry.term, tag, a, b]);
        Applied {
            index: entry.index,
            term: entry.term,
            kind,
            digest: self.digest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{ChatCommand, ChatRoom};
    use crate::types::{Membership, Request};
    use std::rc::Rc;

    fn chat(index: Index, client: ClientId, seq: u64) -> Entry<ChatCommand> {
        Entry {
            index,
            term: 1,
            payload: Payload::Command(Rc::new(Request {
                client,
                seq,
                command: ChatCommand::new("ada", &format!("m{seq}")).unwrap(),
            })),
        }
    }

    fn meta(index: Index) -> SnapshotMeta {
        SnapshotMeta {
            index,
            term: 1,
            config: Membership::new(1..=3),
        }
    }

    #[test]
    fn a_retry_after_its_session_expired_is_refused_never_applied_twice() {
        // Thesis §6.3: the session remembers the client's SESSION_WINDOW latest
        // requests; seq 1 is forgotten once SESSION_WINDOW more were applied.
        let mut r = Replica::<ChatRoom>::default();
        let n = SESSION_WINDOW as u64 + 1;
        for seq in 1..=n {
            assert_eq!(
                r.apply(&chat(seq, 7, seq)).kind,
                AppliedKind::Command { client: 7, seq }
            );
        }
        assert_eq!(r.session_lookup(7, 1), SessionLookup::Expired);
        assert_eq!(r.session_lookup(7, 2), SessionLookup::Applied(2, 1));
        assert_eq!(r.session_lookup(7, n + 1), SessionLookup::New);
        assert_eq!(r.session_lookup(8, 1), SessionLookup::New, "other clients");
        // A retry of seq 1 reaches the log again: it is not applied.
        let before = r.machine().total_messages();
        let a = r.apply(&chat(n + 1, 7, 1));
        assert_eq!(a.kind, AppliedKind::Expired { client: 7, seq: 1 });
        assert_eq!(r.machine().total_messages(), before);
        // A retry still remembered is a duplicate of its first application.
        let a = r.apply(&chat(n + 2, 7, 2));
        assert_eq!(
            a.kind,
            AppliedKind::Duplicate {
                client: 7,
                seq: 2,
                original: 2
            }
        );
        assert_eq!(r.machine().total_messages(), before);
    }

    #[test]
    fn sessions_stay_bounded() {
        let mut r = Replica::<ChatRoom>::default();
        // Three clients, each applying three windows' worth of requests.
        let n = 3 * (3 * SESSION_WINDOW as u64);
        for i in 1..=n {
            r.apply(&chat(i, 1 + i % 3, i));
        }
        assert!(r
            .sessions
            .values()
            .all(|s| s.applied.len() <= SESSION_WINDOW));
        assert_eq!(r.sessions.len(), 3);
    }

    #[test]
    #[cfg(feature = "json-snapshots")]
    fn a_binary_snapshot_restores_the_same_replica_and_is_smaller_than_json() {
        let mut r = Replica::<ChatRoom>::default();
        for i in 1..=200 {
            r.apply(&chat(i, 1 + i % 3, i));
        }
        let data = r.snapshot();
        assert!(data.starts_with(SNAPSHOT_TAG));
        let mut back = Replica::<ChatRoom>::default();
        back.restore(&meta(200), &data).unwrap();
        assert_eq!(back.machine(), r.machine());
        assert_eq!(back.digest(), r.digest());
        assert_eq!(back.sessions, r.sessions);
        let json = Replica::<ChatRoom>::snapshot_json(&meta(200), &data).unwrap();
        assert!(json.contains("\"m200\""), "readable form holds the chat");
        // The JSON form restores to the same replica too (the page stores it).
        let mut from_json = Replica::<ChatRoom>::default();
        from_json.restore(&meta(200), json.as_bytes()).unwrap();
        assert_eq!(from_json.machine(), r.machine());
        assert_eq!(from_json.digest(), r.digest());
        assert_eq!(from_json.sessions, r.sessions);
        assert!(
            data.len() * 2 < json.len(),
            "binary {} bytes, JSON {} bytes",
            data.len(),
            json.len()
        );
        // A damaged snapshot is an error, and changes nothing.
        let mut damaged = data.to_vec();
        damaged.truncate(data.len() / 2);
        assert!(back.restore(&meta(200), &damaged).is_err());
        assert_eq!(back.machine(), r.machine());
    }

    #[test]
    #[cfg(feature = "json-snapshots")]
    fn packed_records_restore_out_of_order_terms_and_indexes_and_reject_damage() {
        // Terms rise, and a client's later seq can sit at an earlier index (a
        // retry of seq 5 applied after seq 6): the differences go both ways.
        let mut r = Replica::<ChatRoom>::default();
        let mut index = 0;
        for (term, client, seq) in [(1, 1, 1), (1, 1, 2), (3, 2, 1), (3, 1, 6), (9, 1, 5)] {
            index += 1;
            let mut e = chat(index, client, seq);
            e.term = term;
            r.apply(&e);
        }
        assert_eq!(r.session_lookup(1, 5), SessionLookup::Applied(5, 9));
        assert_eq!(r.session_lookup(1, 6), SessionLookup::Applied(4, 3));
        let data = r.snapshot();
        let mut back = Replica::<ChatRoom>::default();
        back.restore(&meta(5), &data).unwrap();
        assert_eq!(back.machine(), r.machine());
        assert_eq!(back.sessions, r.sessions);
        // Every cut of the snapshot is an error, never a panic.
        for len in 0..data.len() {
            let mut fresh = Replica::<ChatRoom>::default();
            assert!(
                fresh.restore(&meta(5), &data[..len]).is_err(),
                "cut at {len}"
            );
        }
        // Session records must come in sequence order.
        let bad = r#"{"last_applied":1,"digest":0,"sessions":{"1":{"applied":[[2,1,1],[1,2,1]],"expired_through":0}},
            "machine":{"messages":[],"total":0}}"#;
        let err = back.restore(&meta(1), bad.as_bytes()).unwrap_err();
        assert!(err.contains("unreadable"), "{err}");
    }

    #[test]
    #[cfg(feature = "json-snapshots")]
    fn a_json_snapshot_of_the_previous_format_still_restores() {
        // raftchat 0.1 wrote JSON with every session record.
        let old = r#"{"last_applied":2,"digest":42,"sessions":{"5":{"1":[1,1],"2":[2,1]}},
            "machine":{"messages":[{"author":"ada","text":"hi","client":5,"seq":1,"index":1,"term":1},
            {"author":"ada","text":"yo","client":5,"seq":2,"index":2,"term":1}]}}"#;
        let mut r = Replica::<ChatRoom>::default();
        r.restore(&meta(2), old.as_bytes()).unwrap();
        assert_eq!(r.machine().messages().count(), 2);
        assert_eq!(r.machine().total_messages(), 2);
        assert_eq!(r.digest(), 42);
        assert_eq!(r.session_lookup(5, 2), SessionLookup::Applied(2, 1));
        assert_eq!(r.session_lookup(5, 3), SessionLookup::New);
    }
}
