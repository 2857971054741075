//! The chat room: the state machine raftchat replicates.

use crate::state_machine::{CommandMeta, StateMachine};
use crate::types::{ClientId, Index, Term};
use serde::{Deserialize, Serialize};
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

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatRoom {
    messages: Vec<ChatMessage>,
}

impl ChatRoom {
    pub fn messages(&self) -> &[ChatMessage] {
        &self.messages
    }
}

impl StateMachine for ChatRoom {
    type Command = ChatCommand;

    fn apply(&mut self, meta: CommandMeta, command: &ChatCommand) {
        self.messages.push(ChatMessage {
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
}
