//! The chat room: the state machine raftchat replicates.

use crate::packed;
use crate::state_machine::{CommandMeta, StateMachine};
use crate::types::{ClientId, Index, Term};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::rc::Rc;

/// Longest chat text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest author name accepted, in characters.
pub const MAX_AUTHOR_CHARS: usize = 40;

/// Who wrote a message, and what: a command's words as given or as read back
/// (unchecked; see [`ChatCommand::new`] for the checked form).
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatText {
    pub author: Box<str>,
    pub text: Box<str>,
}

/// A command's words as stored: the same fields as [`ChatText`], borrowed.
#[derive(Serialize)]
struct WordsRef<'a> {
    author: &'a str,
    text: &'a str,
}

/// A request to post a message. Its words (the author's name, then the text)
/// sit in one shared allocation, not copied (one reference count) as the entry
/// travels through logs, messages, disks and replicas: one allocation per
/// command rather than three (a box, a name, a text), and 56 bytes less for a
/// 64-byte message (README, *Speed*). Stored as a [`ChatText`]
/// (`{"author", "text"}`).
#[derive(Clone, PartialEq, Eq)]
pub struct ChatCommand {
    /// The author's name, then the text.
    words: Rc<str>,
    /// Where the author's name ends in `words`.
    author_len: usize,
}

impl ChatCommand {
    /// The author's name.
    pub fn author(&self) -> &str {
        &self.words[..self.author_len]
    }

    /// The message's text.
    pub fn text(&self) -> &str {
        &self.words[self.author_len..]
    }

    /// The command's words, unchecked, in one allocation: put side by side in
    /// a reused buffer, then copied once into the shared one (building them
    /// in a `String` of their own and converting it allocated twice).
    fn from_parts(author: &str, text: &str) -> Self {
        let words = JOIN_BUFFER.with_borrow_mut(|buffer| {
            buffer.clear();
            buffer.push_str(author);
            buffer.push_str(text);
            let words = Rc::<str>::from(buffer.as_str());
            if buffer.capacity() > JOIN_BUFFER_KEPT_BYTES {
                // Damaged or foreign data can hold long words: keep no more
                // than a checked command needs.
                *buffer = String::new();
            }
            words
        });
        ChatCommand {
            words,
            author_len: author.len(),
        }
    }
}

/// The most a checked command's words take (4 bytes a character at most).
const JOIN_BUFFER_KEPT_BYTES: usize = 4 * (MAX_AUTHOR_CHARS + MAX_TEXT_CHARS);

thread_local! {
    /// Where [`ChatCommand::from_parts`] puts a command's words together.
    static JOIN_BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

impl std::fmt::Debug for ChatCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatCommand")
            .field("author", &self.author())
            .field("text", &self.text())
            .finish()
    }
}

impl Serialize for ChatCommand {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WordsRef {
            author: self.author(),
            text: self.text(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ChatCommand {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ChatText::deserialize(d).map(ChatCommand::from)
    }
}

impl From<ChatText> for ChatCommand {
    /// A command as given, unchecked (simulations, tests).
    fn from(words: ChatText) -> Self {
        ChatCommand::from_parts(&words.author, &words.text)
    }
}

impl ChatCommand {
    /// A command with its text checked: not blank, not over the length caps.
    pub fn new(author: &str, text: &str) -> Result<Self, String> {
        let author = author.trim();
        let text = text.trim();
        if text.is_empty() {
            return Err("the message is empty".into());
        }
        // A text has no more characters than bytes: count them only when
        // the bytes are over the limit.
        if text.len() > MAX_TEXT_CHARS {
            let n = text.chars().count();
            if n > MAX_TEXT_CHARS {
                return Err(format!(
                    "the message has {n} characters; the limit is {MAX_TEXT_CHARS}"
                ));
            }
        }
        if author.is_empty() {
            return Err("the author name is empty".into());
        }
        if author.len() > MAX_AUTHOR_CHARS && author.chars().count() > MAX_AUTHOR_CHARS {
            return Err(format!(
                "the author name is longer than {MAX_AUTHOR_CHARS} characters"
            ));
        }
        Ok(ChatCommand::from_parts(author, text))
    }
}

/// A message as applied on a replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    pub words: ChatCommand,
    pub client: ClientId,
    pub seq: u64,
    pub index: Index,
    pub term: Term,
}

impl ChatMessage {
    pub fn author(&self) -> &str {
        self.words.author()
    }
    pub fn text(&self) -> &str {
        self.words.text()
    }
}

/// A message as stored (snapshots, JSON): its fields side by side.
#[derive(Serialize, Deserialize)]
struct FlatMessage<S> {
    author: S,
    text: S,
    client: ClientId,
    seq: u64,
    index: Index,
    term: Term,
}

impl Serialize for ChatMessage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        FlatMessage {
            author: self.author(),
            text: self.text(),
            client: self.client,
            seq: self.seq,
            index: self.index,
            term: self.term,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ChatMessage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = FlatMessage::<Box<str>>::deserialize(d)?;
        Ok(ChatMessage {
            words: ChatCommand::from_parts(&m.author, &m.text),
            client: m.client,
            seq: m.seq,
            index: m.index,
            term: m.term,
        })
    }
}

/// How many of the latest messages a replica keeps: more than a chat pane
/// shows. Older ones are counted, not kept (a snapshot holds the same window),
/// so a replica's memory stays bounded however long the chat runs.
pub const CHAT_WINDOW: usize = 500;

#[derive(Clone, Default)]
pub struct ChatRoom {
    /// The latest messages, at most [`CHAT_WINDOW`]: a ring, oldest at
    /// `oldest` (0 until it is full). Once full, a new message takes the
    /// oldest one's place field by field. (In a `VecDeque`, a message made
    /// whole and pushed went through the stack across the push's possible
    /// growth and was read back across narrower stores, a store-forwarding
    /// stall: a third of applying a chat message, under load.)
    ring: Vec<ChatMessage>,
    oldest: usize,
    /// Every message ever applied, including those no longer kept.
    total: u64,
}

impl PartialEq for ChatRoom {
    /// The same messages in the same order, and the same count (wherever
    /// the ring starts).
    fn eq(&self, other: &Self) -> bool {
        self.total == other.total && self.messages().eq(other.messages())
    }
}

impl Eq for ChatRoom {}

impl std::fmt::Debug for ChatRoom {
    /// As compared: the messages oldest first, and the count.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatRoom")
            .field("messages", &self.messages().collect::<Vec<_>>())
            .field("total", &self.total)
            .finish()
    }
}

/// A room as JSON shows it.
#[derive(Serialize)]
struct RoomFields<'a> {
    #[serde(serialize_with = "serialize_messages")]
    messages: &'a ChatRoom,
    total: u64,
}

fn serialize_messages<S: serde::Serializer>(room: &&ChatRoom, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(room.messages())
}

/// A room as JSON stores it: snapshots of raftchat 0.1 kept every message and
/// no count.
#[derive(Deserialize)]
struct StoredRoom {
    messages: VecDeque<ChatMessage>,
    #[serde(default = "no_count")]
    total: u64,
}

impl Serialize for ChatRoom {
    /// Binary: packed, each message's index and term as differences from the
    /// message before (snapshots are most of a busy simulation's writing).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return RoomFields {
                messages: self,
                total: self.total,
            }
            .serialize(s);
        }
        // About 16 bytes of numbers a message, and its words.
        let bytes: usize = self
            .messages()
            .map(|m| 16 + m.author().len() + m.text().len())
            .sum();
        packed::serialize(s, 8 + bytes, |p| {
            p.u64(self.total);
            p.u64(self.ring.len() as u64);
            let (mut index, mut term) = (0, 0);
            for m in self.messages() {
                p.str(m.author());
                p.str(m.text());
                p.u64(m.client);
                p.u64(m.seq);
                p.delta(m.index, index);
                p.delta(m.term, term);
                (index, term) = (m.index, m.term);
            }
        })
    }
}

impl<'de> Deserialize<'de> for ChatRoom {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            return StoredRoom::deserialize(d).map(ChatRoom::from);
        }
        packed::deserialize(d, |u| {
            let total = u.u64()?;
            let n = u.count(6)?;
            let mut messages = VecDeque::with_capacity(n.min(CHAT_WINDOW));
            let (mut index, mut term) = (0, 0);
            for _ in 0..n {
                let (author, text) = (u.str()?, u.str()?);
                let words = ChatCommand::from_parts(author, text);
                let (client, seq) = (u.u64()?, u.u64()?);
                (index, term) = (u.delta(index)?, u.delta(term)?);
                messages.push_back(ChatMessage {
                    words,
                    client,
                    seq,
                    index,
                    term,
                });
            }
            Ok(ChatRoom::from(StoredRoom { messages, total }))
        })
    }
}

fn no_count() -> u64 {
    u64::MAX
}

impl From<StoredRoom> for ChatRoom {
    fn from(mut stored: StoredRoom) -> Self {
        let total = match stored.total {
            u64::MAX => stored.messages.len() as u64,
            n => n,
        };
        let excess = stored.messages.len().saturating_sub(CHAT_WINDOW);
        stored.messages.drain(..excess);
        ChatRoom {
            ring: stored.messages.into(),
            oldest: 0,
            total,
        }
    }
}

impl ChatRoom {
    /// The latest messages (at most [`CHAT_WINDOW`]), oldest first.
    pub fn messages(&self) -> impl DoubleEndedIterator<Item = &ChatMessage> + Clone {
        let (newer, older) = self.ring.split_at(self.oldest.min(self.ring.len()));
        older.iter().chain(newer)
    }

    /// How many messages were applied in all, including those no longer kept.
    pub fn total_messages(&self) -> u64 {
        self.total
    }
}

impl StateMachine for ChatRoom {
    type Command = ChatCommand;

    #[inline]
    fn apply(&mut self, meta: CommandMeta, command: &ChatCommand) {
        self.total += 1;
        let words = command.clone();
        if self.ring.len() < CHAT_WINDOW {
            self.ring.push(ChatMessage {
                words,
                client: meta.client,
                seq: meta.seq,
                index: meta.index,
                term: meta.term,
            });
        } else if let Some(slot) = self.ring.get_mut(self.oldest) {
            slot.words = words;
            slot.client = meta.client;
            slot.seq = meta.seq;
            slot.index = meta.index;
            slot.term = meta.term;
            self.oldest = (self.oldest + 1) % CHAT_WINDOW;
        }
    }

    fn command_bytes(command: &ChatCommand) -> usize {
        command.words.len() + 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_commands_are_checked() {
        assert!(ChatCommand::new("ada", "  ").is_err());
        assert!(ChatCommand::new("", "hi").is_err());
        assert!(ChatCommand::new("ada", &"x".repeat(MAX_TEXT_CHARS + 1)).is_err());
        // The caps count characters, not bytes: at the cap in two-byte
        // characters is accepted, one more is not.
        let at_cap = "é".repeat(MAX_TEXT_CHARS);
        assert!(at_cap.len() > MAX_TEXT_CHARS);
        assert_eq!(ChatCommand::new("ada", &at_cap).unwrap().text(), at_cap);
        let over = format!("{at_cap}é");
        assert_eq!(
            ChatCommand::new("ada", &over).unwrap_err(),
            format!("the message has 501 characters; the limit is {MAX_TEXT_CHARS}")
        );
        let name_at_cap = "å".repeat(MAX_AUTHOR_CHARS);
        assert!(ChatCommand::new(&name_at_cap, "hi").is_ok());
        assert!(ChatCommand::new(&format!("{name_at_cap}å"), "hi").is_err());
        assert!(ChatCommand::new(&"a".repeat(MAX_AUTHOR_CHARS + 1), "hi").is_err());
        let c = ChatCommand::new(" ada ", " <b>hi</b> ").unwrap();
        assert_eq!((c.author(), c.text()), ("ada", "<b>hi</b>"));
        // Stored as before: {"author": .., "text": ..}.
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"author":"ada","text":"<b>hi</b>"}"#);
        assert_eq!(serde_json::from_str::<ChatCommand>(&json).unwrap(), c);
    }

    #[test]
    fn words_read_back_whole_however_long_and_one_after_another() {
        // Read-back words are unchecked: longer than any checked command
        // (past the joining buffer's kept size), then short ones again.
        let long = "ü".repeat(3 * JOIN_BUFFER_KEPT_BYTES);
        let a = ChatCommand::from(ChatText {
            author: "Ådå".into(),
            text: long.as_str().into(),
        });
        let b = ChatCommand::from(ChatText {
            author: "bo".into(),
            text: "hi".into(),
        });
        assert_eq!((a.author(), a.text()), ("Ådå", long.as_str()));
        assert_eq!((b.author(), b.text()), ("bo", "hi"));
        assert!(JOIN_BUFFER.with_borrow(String::capacity) <= JOIN_BUFFER_KEPT_BYTES);
    }

    #[test]
    fn a_command_is_stored_as_its_two_fields_in_both_formats() {
        // Multi-byte characters on both sides of the split.
        let c = ChatCommand::new("Ådå", "naïve — ok").unwrap();
        assert_eq!((c.author(), c.text()), ("Ådå", "naïve — ok"));
        let fields = ChatText {
            author: "Ådå".into(),
            text: "naïve — ok".into(),
        };
        // The bytes are those of the two-field form (as stored before the
        // words shared one allocation), and read back equal.
        let bytes = postcard::to_allocvec(&c).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&fields).unwrap());
        assert_eq!(postcard::from_bytes::<ChatCommand>(&bytes).unwrap(), c);
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            serde_json::to_string(&fields).unwrap()
        );
        assert_eq!(ChatCommand::from(fields), c);
        // Equal words split differently are different commands.
        let other = ChatCommand::from(ChatText {
            author: "Ådån".into(),
            text: "aïve — ok".into(),
        });
        assert_ne!(other, c);
        assert_eq!(
            format!("{c:?}"),
            r#"ChatCommand { author: "Ådå", text: "naïve — ok" }"#
        );
    }

    #[test]
    fn a_room_keeps_the_latest_messages_and_counts_them_all() {
        let mut room = ChatRoom::default();
        let command = ChatCommand::new("ada", "hi").unwrap();
        let n = CHAT_WINDOW as u64 + 7;
        for i in 1..=n {
            let meta = CommandMeta {
                index: i,
                term: 1,
                client: 1,
                seq: i,
            };
            room.apply(meta, &command);
        }
        assert_eq!(room.total_messages(), n);
        assert_eq!(room.messages().count(), CHAT_WINDOW);
        assert_eq!(room.messages().next().map(|m| m.index), Some(8));
        assert_eq!(room.messages().next_back().map(|m| m.index), Some(n));
    }

    #[test]
    fn a_wrapped_room_lists_in_order_and_restores_equal_from_both_formats() {
        let mut room = ChatRoom::default();
        let n = 2 * CHAT_WINDOW as u64 + 123;
        for i in 1..=n {
            let meta = CommandMeta {
                index: i,
                term: 1 + i / 300,
                client: 1 + i % 3,
                seq: i,
            };
            let text = format!("message {i}");
            room.apply(meta, &ChatCommand::new("ada", &text).unwrap());
        }
        // Oldest first, each message with its own words and place.
        let listed: Vec<(u64, String)> = room
            .messages()
            .map(|m| (m.index, m.text().to_string()))
            .collect();
        let expected: Vec<(u64, String)> = (n - CHAT_WINDOW as u64 + 1..=n)
            .map(|i| (i, format!("message {i}")))
            .collect();
        assert_eq!(listed, expected);
        assert!(room
            .messages()
            .rev()
            .map(|m| m.index)
            .eq((n - CHAT_WINDOW as u64 + 1..=n).rev()));
        // Restored rooms start their ring at the front: equal all the same,
        // and they go on wrapping alike.
        let mut binary: ChatRoom =
            postcard::from_bytes(&postcard::to_allocvec(&room).unwrap()).unwrap();
        let mut json: ChatRoom =
            serde_json::from_str(&serde_json::to_string(&room).unwrap()).unwrap();
        assert_eq!(binary, room);
        assert_eq!(json, room);
        let next = CommandMeta {
            index: n + 1,
            term: 9,
            client: 1,
            seq: n + 1,
        };
        let command = ChatCommand::new("bo", "one more").unwrap();
        for r in [&mut room, &mut binary, &mut json] {
            r.apply(next, &command);
        }
        assert_eq!(binary, room);
        assert_eq!(json, room);
        assert_eq!(room.messages().count(), CHAT_WINDOW);
        // Shown as compared: oldest first, wherever the ring starts.
        assert_eq!(format!("{binary:?}"), format!("{room:?}"));
        // A room with other messages is not equal.
        let mut other = room.clone();
        other.apply(next, &command);
        assert_ne!(other, room);
    }
}
