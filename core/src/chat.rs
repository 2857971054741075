//! The chat room: the state machine raftchat replicates.

use crate::state_machine::{CommandMeta, StateMachine};
use crate::types::{ClientId, Index, Term};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

/// Longest chat text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest author name accepted, in characters.
pub const MAX_AUTHOR_CHARS: usize = 40;

/// A request to post a message. The text is shared, not copied, as the entry
/// travels through logs, messages, disks and replicas.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatCommand {
    pub author: Arc<str>,
    pub text: Arc<str>,
}

impl ChatCommand {
    /// A command with its text checked: not blank, not over the length caps.
    pub fn new(author: &str, text: &str) -> Result<Self, String> {
        let author = author.trim();
        let text = text.trim();
        if text.is_empty() {
            return Err("the message is empty".into());
        }
        let n = text.chars().count();
        if n > MAX_TEXT_CHARS {
            return Err(format!(
                "the message has {n} characters; the limit is {MAX_TEXT_CHARS}"
            ));
        }
        if author.is_empty() {
            return Err("the author name is empty".into());
        }
        if author.chars().count() > MAX_AUTHOR_CHARS {
            return Err(format!(
                "the author name is longer than {MAX_AUTHOR_CHARS} characters"
            ));
        }
        Ok(ChatCommand {
            author: author.into(),
            text: text.into(),
        })
    }
}

/// A message as applied on a replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub author: Arc<str>,
    pub text: Arc<str>,
    pub client: ClientId,
    pub seq: u64,
    pub index: Index,
    pub term: Term,
}

/// How many of the latest messages a replica keeps: more than a chat pane
/// shows. Older ones are counted, not kept (a snapshot holds the same window),
/// so a replica's memory stays bounded however long the chat runs.
pub const CHAT_WINDOW: usize = 500;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredRoom")]
pub struct ChatRoom {
    /// The latest messages, at most [`CHAT_WINDOW`], oldest first.
    messages: VecDeque<ChatMessage>,
    /// Every message ever applied, including those no longer kept.
    total: u64,
}

/// A room as stored: snapshots of raftchat 0.1 kept every message and no count.
/// (Same fields and types as [`ChatRoom`]: binary formats read them in order.)
#[derive(Deserialize)]
struct StoredRoom {
    messages: VecDeque<ChatMessage>,
    #[serde(default = "no_count")]
    total: u64,
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
            messages: stored.messages,
            total,
        }
    }
}

impl ChatRoom {
    /// The latest messages (at most [`CHAT_WINDOW`]), oldest first.
    pub fn messages(&self) -> &VecDeque<ChatMessage> {
        &self.messages
    }

    /// How many messages were applied in all, including those no longer kept.
    pub fn total_messages(&self) -> u64 {
        self.total
    }
}

impl StateMachine for ChatRoom {
    type Command = ChatCommand;

    fn apply(&mut self, meta: CommandMeta, command: &ChatCommand) {
        if self.messages.len() == CHAT_WINDOW {
            self.messages.pop_front();
        }
        self.total += 1;
        self.messages.push_back(ChatMessage {
            author: command.author.clone(),
            text: command.text.clone(),
            client: meta.client,
            seq: meta.seq,
            index: meta.index,
            term: meta.term,
        });
    }

    fn command_bytes(command: &ChatCommand) -> usize {
        command.author.len() + command.text.len() + 16
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
        let c = ChatCommand::new(" ada ", " <b>hi</b> ").unwrap();
        assert_eq!((&*c.author, &*c.text), ("ada", "<b>hi</b>"));
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
        assert_eq!(room.messages().len(), CHAT_WINDOW);
        assert_eq!(room.messages().front().map(|m| m.index), Some(8));
        assert_eq!(room.messages().back().map(|m| m.index), Some(n));
    }
}
