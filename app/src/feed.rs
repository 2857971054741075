//! The event feed: what happened, in words, newest first.

use raftchat_core::sim::{AppendRefusal, DropReason, EventKind, VoteRefusal};
use raftchat_core::{MessageKind, NodeId, Outcome, Role};

/// The kinds the feed can be filtered by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeedKind {
    Election,
    Vote,
    Term,
    Crash,
    Commit,
    Drop,
    Client,
    Network,
    Membership,
    Snapshot,
    /// A follower's log repaired: AppendEntries rejected, and why.
    Repair,
}

impl FeedKind {
    /// Terms and commits are frequent: hidden until asked for.
    pub const HIDDEN_AT_FIRST: u16 = FeedKind::Term.bit() | FeedKind::Commit.bit();

    /// This kind's bit in a set of kinds.
    pub const fn bit(self) -> u16 {
        1 << self as u16
    }

    pub fn is_in(self, set: u16) -> bool {
        set & self.bit() != 0
    }

    pub const ALL: [FeedKind; 11] = [
        FeedKind::Election,
        FeedKind::Vote,
        FeedKind::Term,
        FeedKind::Crash,
        FeedKind::Commit,
        FeedKind::Drop,
        FeedKind::Client,
        FeedKind::Network,
        FeedKind::Membership,
        FeedKind::Snapshot,
        FeedKind::Repair,
    ];

    pub fn label(self) -> &'static str {
        match self {
            FeedKind::Election => "elections",
            FeedKind::Vote => "votes",
            FeedKind::Term => "terms",
            FeedKind::Crash => "crashes",
            FeedKind::Commit => "commits",
            FeedKind::Drop => "drops",
            FeedKind::Client => "chat",
            FeedKind::Network => "links",
            FeedKind::Membership => "membership",
            FeedKind::Snapshot => "snapshots",
            FeedKind::Repair => "repairs",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedItem {
    pub seq: u64,
    /// When it last happened.
    pub at_ms: u64,
    pub kind: FeedKind,
    /// The nodes it concerns (for the node filter).
    pub nodes: Vec<NodeId>,
    pub text: String,
    /// How many times it happened with no other line of its kind between
    /// (a heartbeat lost on a cut link every interval is one line, not a
    /// screenful), and when first.
    pub repeats: u32,
    pub first_ms: u64,
}

/// Adds the line for an event at `at_ms` to the front of the feed (newest
/// first). The same line as the newest one of its kind is a repeat of it: it
/// is counted there and moves to the front (lines of other kinds between them,
/// commits say, do not split a run of lost heartbeats).
pub fn push(
    feed: &mut std::collections::VecDeque<FeedItem>,
    seq: u64,
    at_ms: u64,
    (kind, nodes, text): (FeedKind, Vec<NodeId>, String),
) {
    let newest_of_kind = feed.iter().position(|f| f.kind == kind);
    if let Some(i) = newest_of_kind.filter(|&i| feed[i].text == text) {
        if let Some(mut repeated) = feed.remove(i) {
            repeated.repeats += 1;
            repeated.at_ms = at_ms;
            feed.push_front(repeated);
            return;
        }
    }
    feed.push_front(FeedItem {
        seq,
        at_ms,
        kind,
        nodes,
        text,
        repeats: 1,
        first_ms: at_ms,
    });
}

pub fn message_name(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::RequestVote => "RequestVote",
        MessageKind::VoteGranted => "vote granted",
        MessageKind::VoteRejected => "vote refused",
        MessageKind::PreVote => "PreVote",
        MessageKind::PreVoteGranted => "pre-vote granted",
        MessageKind::PreVoteRejected => "pre-vote refused",
        MessageKind::Heartbeat => "heartbeat",
        MessageKind::AppendEntries => "AppendEntries",
        MessageKind::AppendAccepted => "append accepted",
        MessageKind::AppendRejected => "append rejected",
        MessageKind::Forward => "forwarded request",
        MessageKind::ForwardAccepted => "forward accepted",
        MessageKind::TimeoutNow => "TimeoutNow",
        MessageKind::ReadIndex => "read index",
        MessageKind::ReadHeartbeat => "read confirmation",
        MessageKind::ForwardRejected => "forward refused",
        MessageKind::InstallSnapshot => "InstallSnapshot chunk",
        MessageKind::SnapshotAck => "snapshot chunk acknowledged",
    }
}

/// The feed's line for an event, or `None` for the events too frequent to list
/// (messages sent and delivered, appends, durable writes, applies).
pub fn describe(kind: &EventKind) -> Option<(FeedKind, Vec<NodeId>, String)> {
    Some(match *kind {
        EventKind::RoleChanged {
            node,
            role: Role::Candidate,
            term,
        } => (
            FeedKind::Election,
            vec![node],
            format!("node {node} starts an election for term {term}"),
        ),
        EventKind::RoleChanged {
            node,
            role: Role::Leader,
            term,
        } => (
            FeedKind::Election,
            vec![node],
            format!("node {node} wins the election: leader of term {term}"),
        ),
        EventKind::RoleChanged {
            node,
            role: Role::PreCandidate,
            term,
        } => (
            FeedKind::Election,
            vec![node],
            format!("node {node} asks for pre-votes for term {}", term + 1),
        ),
        EventKind::RoleChanged { .. } => return None,
        EventKind::VoteGranted {
            voter,
            candidate,
            term,
        } => (
            FeedKind::Vote,
            vec![voter, candidate],
            format!("node {voter} votes for node {candidate} in term {term}"),
        ),
        EventKind::VoteRefused {
            voter,
            candidate,
            term,
            why,
            pre_vote,
        } => {
            let of = if pre_vote { "'s pre-vote" } else { "" };
            let text = match why {
                VoteRefusal::StaleTerm => format!(
                    "node {voter} refuses node {candidate}{of}: its request is for a term not after {term}"
                ),
                VoteRefusal::AlreadyVoted(other) if other == voter => format!(
                    "node {voter} refuses node {candidate} in term {term}: it voted for itself"
                ),
                VoteRefusal::AlreadyVoted(other) => format!(
                    "node {voter} refuses node {candidate} in term {term}: it already voted for node {other}"
                ),
                VoteRefusal::InLease { request_term } if pre_vote => format!(
                    "node {voter} refuses node {candidate}'s pre-vote for term {request_term}: it hears from a leader (within the minimum election timeout), §9.6"
                ),
                VoteRefusal::InLease { request_term } => format!(
                    "node {voter} ignores node {candidate}'s request for term {request_term}: it hears from a leader (within the minimum election timeout), §4.2.3"
                ),
                VoteRefusal::LogBehind {
                    candidate_last: (ci, ct),
                    voter_last: (vi, vt),
                } => format!(
                    "node {voter} refuses node {candidate}{of} in term {term}: node {candidate}'s log (last entry: index {ci}, term {ct}) is behind its own (index {vi}, term {vt}), §5.4.1"
                ),
            };
            (FeedKind::Vote, vec![voter, candidate], text)
        }
        EventKind::AppendRejected {
            follower,
            leader,
            term,
            why,
        } => (
            FeedKind::Repair,
            vec![follower, leader],
            match why {
                AppendRefusal::StaleTerm => format!(
                    "node {follower} rejects node {leader}'s AppendEntries: its term is older than {term}"
                ),
                AppendRefusal::Missing {
                    prev_index,
                    last_index,
                } => format!(
                    "node {follower} rejects node {leader}'s AppendEntries: no entry at index {prev_index} (its log ends at {last_index}); the leader backs up, §5.3"
                ),
                AppendRefusal::Conflict {
                    prev_index,
                    prev_term,
                    has_term,
                } => format!(
                    "node {follower} rejects node {leader}'s AppendEntries: its entry at index {prev_index} is of term {has_term}, not {prev_term}; the leader backs up, §5.3"
                ),
            },
        ),
        EventKind::LogTruncated { node, from_index } => (
            FeedKind::Repair,
            vec![node],
            format!("node {node} deletes its log from index {from_index} on: those entries conflict with the leader's, §5.3"),
        ),
        EventKind::TermChanged { node, term } => (
            FeedKind::Term,
            vec![node],
            format!("node {node} moves to term {term}"),
        ),
        EventKind::Crashed { node, lost_writes } => (
            FeedKind::Crash,
            vec![node],
            match lost_writes {
                0 => format!("node {node} crashed"),
                n => format!("node {node} crashed; {n} write(s) not yet on disk are lost"),
            },
        ),
        EventKind::Restarted {
            node,
            term,
            log_len,
        } => (
            FeedKind::Crash,
            vec![node],
            format!("node {node} restarted from disk: term {term}, {log_len} log entries"),
        ),
        EventKind::StorageFailed { node, ref error } => {
            (FeedKind::Crash, vec![node], format!("node {node}: {error}"))
        }
        EventKind::CommitAdvanced { node, commit_index } => (
            FeedKind::Commit,
            vec![node],
            format!("node {node} knows entries up to {commit_index} are committed"),
        ),
        EventKind::MessageDropped {
            from,
            to,
            kind,
            reason,
            ..
        } => (
            FeedKind::Drop,
            vec![from, to],
            format!(
                "{} {from}→{to} lost: {}",
                message_name(kind),
                match reason {
                    DropReason::Lost => "dropped by the network",
                    DropReason::LinkCut => "the link is cut",
                    DropReason::NodeDown => "the receiver is down",
                    DropReason::ByUser => "dropped by hand",
                }
            ),
        ),
        EventKind::ClientOutcome {
            node,
            outcome,
            latency_ms,
            ..
        } => {
            (
                FeedKind::Client,
                vec![node],
                match outcome {
                    Outcome::Committed { index, .. } => {
                        format!("message via node {node} committed at index {index} after {latency_ms} ms")
                    }
                    Outcome::Failed(why) => format!("message via node {node} failed: {why}"),
                },
            )
        }
        EventKind::LinkCut { from, to } => (
            FeedKind::Network,
            vec![from, to],
            format!("link {from}→{to} cut"),
        ),
        EventKind::LinkHealed { from, to } => (
            FeedKind::Network,
            vec![from, to],
            format!("link {from}→{to} healed"),
        ),
        EventKind::ElectionTimeoutForced { node } => (
            FeedKind::Election,
            vec![node],
            format!("node {node}'s election timer forced to fire"),
        ),
        EventKind::TransferStarted { from, to } => (
            FeedKind::Election,
            vec![from, to],
            format!("leader {from} hands leadership to node {to}: it stops taking requests and brings node {to} up to date"),
        ),
        EventKind::TransferEnded { from, outcome } => (
            FeedKind::Election,
            vec![from],
            transfer_text(outcome),
        ),
        EventKind::ReadDone { node, ref outcome, .. } => (
            FeedKind::Client,
            vec![node],
            format!("read via node {node}: {}", read_text(outcome)),
        ),
        EventKind::ReadStarted { .. } => return None,
        EventKind::SnapshotTaken { node, index, bytes } => (
            FeedKind::Snapshot,
            vec![node],
            format!("node {node} snapshots its chat up to index {index} ({bytes} bytes) and drops that part of its log"),
        ),
        EventKind::SnapshotInstalled { node, index, bytes } => (
            FeedKind::Snapshot,
            vec![node],
            format!("node {node} installs the leader's snapshot up to index {index} ({bytes} bytes)"),
        ),
        EventKind::NodeAdded { node } => (
            FeedKind::Membership,
            vec![node],
            format!("node {node} starts, empty, to join the cluster"),
        ),
        EventKind::ConfigChanged {
            leader,
            index,
            ref voters,
            ref learners,
        } => (
            FeedKind::Membership,
            vec![leader],
            format!(
                "leader {leader} appends configuration {} at index {index}; it takes effect at once",
                config_text(voters, learners)
            ),
        ),
        EventKind::CatchUpEnded { leader, outcome } => (
            FeedKind::Membership,
            vec![leader],
            catch_up_text(outcome),
        ),
        EventKind::NodeRetired { node } => (
            FeedKind::Membership,
            vec![node],
            format!("node {node}, removed from the cluster, shuts down"),
        ),
        EventKind::MessageSent { .. }
        | EventKind::MessageDelivered { .. }
        | EventKind::EntriesAppended { .. }
        | EventKind::Persisted { .. }
        | EventKind::EntryApplied { .. }
        | EventKind::ClientSubmitted { .. } => return None,
    })
}

/// A configuration, in words: "voters 1, 2, 3; learner 4".
pub fn config_text(voters: &[NodeId], learners: &[NodeId]) -> String {
    let list = |ids: &[NodeId]| {
        ids.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!("voters {}", list(voters));
    if !learners.is_empty() {
        text += &format!("; learner {}", list(learners));
    }
    text
}

/// How a new server's catch-up ended, in words.
pub fn catch_up_text(outcome: raftchat_core::raft::CatchUpOutcome) -> String {
    use raftchat_core::raft::CatchUpOutcome::*;
    match outcome {
        Promoted { node, rounds } => format!(
            "node {node} caught up in {rounds} round(s), the last shorter than an election timeout: it becomes a voter"
        ),
        Abandoned { node, rounds } => format!(
            "node {node} did not catch up ({rounds} round(s)): the leader removes it again"
        ),
    }
}

/// The outcome of a leadership transfer, in words.
pub fn transfer_text(outcome: raftchat_core::raft::TransferOutcome) -> String {
    use raftchat_core::raft::TransferOutcome::*;
    match outcome {
        Done { target } => {
            format!("leadership transfer to node {target}: done (it started an election)")
        }
        TimedOut { target } => {
            format!("leadership transfer to node {target}: timed out; the leader goes on")
        }
        Aborted { target } => {
            format!("leadership transfer to node {target}: abandoned (a new term began elsewhere)")
        }
    }
}

/// How a linearizable read ended, in words.
pub fn read_text(outcome: &raftchat_core::node::ReadOutcome) -> String {
    use raftchat_core::node::ReadOutcome::*;
    match outcome {
        Served { index, applied, via: None } => format!(
            "served the chat up to index {applied} (read index {index}; this leader confirmed it still leads with a heartbeat round)"
        ),
        Served { index, applied, via: Some(l) } => format!(
            "served the chat up to index {applied} (read index {index} from leader {l})"
        ),
        Failed(why) => format!("failed: {why}"),
    }
}
