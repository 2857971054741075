//! A read-only snapshot of the simulated cluster, taken after every change.
//! Components draw only from this. Parts that did not change since the previous
//! snapshot (a node's chat, its log) are shared with it, so that unchanged
//! components are not redrawn.

use raftchat_core::bugs::BugSet;
use raftchat_core::sim::Simulator;
use raftchat_core::{ChatMessage, ChatRoom, Index, MessageKind, NodeId, Payload, Role, Term};
use std::collections::BTreeSet;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    Noop,
    Chat,
    Config,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogCell {
    pub index: Index,
    pub term: Term,
    pub kind: CellKind,
}

/// A log entry not yet known to be committed, as the chat pane shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailMessage {
    pub index: Index,
    pub words: raftchat_core::ChatCommand,
}

/// A server's place in the cluster, as its own log says (thesis ch. 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
    Voter,
    /// Catching up before it becomes a voter (§4.2.1).
    Learner,
    /// A new server that has not yet received any configuration.
    Joining,
    /// Not in its configuration: removed (and about to be shut down).
    Removed,
}

impl Member {
    pub fn class(self) -> &'static str {
        match self {
            Member::Voter => "voter",
            Member::Learner => "learner",
            Member::Joining => "joining",
            Member::Removed => "removed",
        }
    }
}

/// What a node's log was compacted into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub index: Index,
    pub term: Term,
    pub bytes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerProgress {
    pub peer: NodeId,
    pub next_index: Index,
    pub match_index: Index,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeInfo {
    pub id: NodeId,
    pub up: bool,
    pub incarnation: u32,
    pub role: Role,
    pub term: Term,
    pub voted_for: Option<NodeId>,
    pub leader: Option<NodeId>,
    pub commit_index: Index,
    pub last_applied: Index,
    pub log: Rc<Vec<LogCell>>,
    pub chat: Rc<Vec<ChatMessage>>,
    pub tail: Rc<Vec<TailMessage>>,
    /// The leader's next/match index per follower (empty unless leader).
    pub progress: Vec<PeerProgress>,
    pub election_deadline_ms: u64,
    /// A candidate's votes, itself included.
    pub votes: usize,
    pub pending_writes: usize,
    /// What is on disk: term, vote, number of entries.
    pub disk_term: Term,
    pub disk_voted_for: Option<NodeId>,
    pub disk_entries: u64,
    /// Log entries on disk (after the stored snapshot).
    pub disk_log_entries: u64,
    pub queued_requests: usize,
    pub membership: Member,
    /// Votes needed to win, in this node's configuration.
    pub quorum: usize,
    /// The configuration in this node's log, in words.
    pub config: String,
    pub snapshot: Option<SnapshotInfo>,
    /// Removed: when it shuts down (virtual ms).
    pub retiring_at_ms: Option<u64>,
    /// Leaders: the learner catching up, and its round.
    pub catching_up: Option<(NodeId, u32)>,
}

impl NodeInfo {
    pub fn last_index(&self) -> Index {
        self.log.last().map_or(0, |c| c.index)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageInfo {
    pub id: u64,
    pub from: NodeId,
    pub to: NodeId,
    pub kind: MessageKind,
    pub entries: usize,
    pub sent_ms: u64,
    pub deliver_ms: u64,
    /// Waiting on its link for the user (hold mode).
    pub held: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClusterView {
    pub now_ms: u64,
    pub nodes: Vec<Rc<NodeInfo>>,
    pub messages: Vec<MessageInfo>,
    /// Cut links, one way each: (from, to).
    pub cut: BTreeSet<(NodeId, NodeId)>,
    /// The leader of the highest term, if any.
    pub leader: Option<(NodeId, Term)>,
    pub election_timeout_max_ms: u64,
    /// The rules broken on purpose now (the "Break Raft" menu).
    pub bugs: BugSet,
    /// Hold mode: new messages wait on their links for the user.
    pub holding: bool,
}

impl ClusterView {
    pub fn empty() -> Self {
        ClusterView {
            now_ms: 0,
            nodes: Vec::new(),
            messages: Vec::new(),
            cut: BTreeSet::new(),
            leader: None,
            election_timeout_max_ms: 300,
            bugs: BugSet::NONE,
            holding: false,
        }
    }

    pub fn node(&self, id: NodeId) -> Option<&Rc<NodeInfo>> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Takes a snapshot of `sim`, sharing unchanged parts with `previous`.
    pub fn take(sim: &Simulator<ChatRoom>, previous: &ClusterView) -> Self {
        let nodes = sim
            .node_ids()
            .filter_map(|id| sim.node(id))
            .map(|v| {
                let prev = previous.node(v.id);
                let (disk_term, disk_voted_for, disk_entries) =
                    (v.durable.term, v.durable.voted_for, v.durable.last_index);
                let disk_log_entries = disk_entries.saturating_sub(v.durable.base_index);
                let retiring_at_ms = sim.retiring().get(&v.id).copied();
                let Some(n) = v.node else {
                    return Rc::new(NodeInfo {
                        id: v.id,
                        up: false,
                        incarnation: v.incarnation,
                        role: Role::Follower,
                        term: disk_term,
                        voted_for: disk_voted_for,
                        leader: None,
                        commit_index: 0,
                        last_applied: 0,
                        log: Rc::default(),
                        chat: Rc::default(),
                        tail: Rc::default(),
                        progress: Vec::new(),
                        election_deadline_ms: 0,
                        votes: 0,
                        pending_writes: 0,
                        disk_term,
                        disk_voted_for,
                        disk_entries,
                        disk_log_entries,
                        queued_requests: 0,
                        membership: prev.map_or(Member::Voter, |p| p.membership),
                        quorum: prev.map_or(1, |p| p.quorum),
                        config: prev.map(|p| p.config.clone()).unwrap_or_default(),
                        snapshot: prev.and_then(|p| p.snapshot),
                        retiring_at_ms,
                        catching_up: None,
                    });
                };
                let raft = n.raft();
                let log = raft.log();
                let same_life = prev.is_some_and(|p| p.up && p.incarnation == v.incarnation);
                let log_unchanged = same_life
                    && prev.is_some_and(|p| {
                        p.snapshot.map_or(0, |s| s.index) == log.base().0
                            && p.last_index() == log.last_index()
                            && p.log.last().map(|c| c.term) == log.entries().last().map(|e| e.term)
                    });
                let cells = match prev {
                    Some(p) if log_unchanged => p.log.clone(),
                    _ => Rc::new(
                        log.entries()
                            .iter()
                            .map(|e| LogCell {
                                index: e.index,
                                term: e.term,
                                kind: match e.payload {
                                    Payload::Noop => CellKind::Noop,
                                    Payload::Command(_) => CellKind::Chat,
                                    Payload::Config(_) => CellKind::Config,
                                },
                            })
                            .collect(),
                    ),
                };
                let applied = n.replica().last_applied();
                let chat = match prev {
                    Some(p) if same_life && p.last_applied == applied => p.chat.clone(),
                    _ => Rc::new(n.replica().machine().messages().cloned().collect()),
                };
                let commit = raft.commit_index();
                let tail = match prev {
                    Some(p) if log_unchanged && p.commit_index == commit => p.tail.clone(),
                    _ => Rc::new(
                        log.entries()
                            .iter()
                            .filter(|e| e.index > commit)
                            .filter_map(|e| match &e.payload {
                                Payload::Command(r) => Some(TailMessage {
                                    index: e.index,
                                    words: r.command.clone(),
                                }),
                                _ => None,
                            })
                            .collect(),
                    ),
                };
                Rc::new(NodeInfo {
                    id: v.id,
                    up: true,
                    incarnation: v.incarnation,
                    role: raft.role(),
                    term: raft.term(),
                    voted_for: raft.voted_for(),
                    leader: raft.leader(),
                    commit_index: commit,
                    last_applied: applied,
                    log: cells,
                    chat,
                    tail,
                    progress: raft
                        .progress()
                        .iter()
                        .map(|(&peer, p)| PeerProgress {
                            peer,
                            next_index: p.next_index,
                            match_index: p.match_index,
                        })
                        .collect(),
                    election_deadline_ms: raft.election_deadline_ms(),
                    votes: raft.votes().len(),
                    pending_writes: v.pending_writes(),
                    disk_term,
                    disk_voted_for,
                    disk_entries,
                    disk_log_entries,
                    queued_requests: raft.queued_requests(),
                    membership: if raft.membership().contains(v.id) && retiring_at_ms.is_none() {
                        Member::Voter
                    } else if raft.membership().learners.contains(&v.id) {
                        Member::Learner
                    } else if raft.membership().voters.is_empty() && retiring_at_ms.is_none() {
                        Member::Joining
                    } else {
                        Member::Removed
                    },
                    quorum: raft.membership().quorum(),
                    config: {
                        let m = raft.membership();
                        crate::feed::config_text(
                            &m.voters.iter().copied().collect::<Vec<_>>(),
                            &m.learners.iter().copied().collect::<Vec<_>>(),
                        )
                    },
                    snapshot: raft.snapshot().map(|s| SnapshotInfo {
                        index: s.meta.index,
                        term: s.meta.term,
                        bytes: s.data.len() as u64,
                    }),
                    retiring_at_ms,
                    catching_up: raft.catching_up(),
                })
            })
            .collect::<Vec<_>>();
        let leader = sim.leader().and_then(|id| {
            let n = nodes.iter().find(|n| n.id == id)?;
            Some((id, n.term))
        });
        ClusterView {
            now_ms: sim.now_ms(),
            nodes,
            messages: sim
                .in_flight()
                .map(|m| MessageInfo {
                    id: m.id,
                    from: m.message.from,
                    to: m.message.to,
                    kind: m.message.kind(),
                    entries: m.message.entry_count(),
                    sent_ms: m.sent_ms,
                    deliver_ms: m.deliver_ms,
                    held: m.held,
                })
                .collect(),
            cut: sim.cut_links().clone(),
            leader,
            election_timeout_max_ms: sim.config().election_timeout_max_ms,
            bugs: sim.config().bugs,
            holding: sim.holding(),
        }
    }
}

/// The timeline as the page draws it: the moment, how far the branch ran,
/// the marks (deduplicated to the slider's resolution) and the branches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimelineView {
    pub now_ms: u64,
    pub end_ms: u64,
    /// The slider's scale: the branch's end, rounded up to whole 30 s.
    pub span_ms: u64,
    /// The marks as one SVG (`timeline-marks`): a `<line class="mark KIND">`
    /// with its label as a tooltip, one per kind and position (thousandths
    /// of the span). Made only when the markers change and shared with the
    /// previous view meanwhile: the page parses it once, not a component
    /// per mark each frame (there can be thousands).
    pub marks: yew::AttrValue,
    /// How many markers the marks were made from.
    pub marker_count: usize,
    pub branches: Vec<raftchat_core::timeline::BranchInfo>,
    pub rewound: bool,
}

impl TimelineView {
    pub fn take(t: &raftchat_core::timeline::Timeline, previous: &TimelineView) -> Self {
        let end_ms = t.end_ms();
        let span_ms = end_ms.div_ceil(30_000).max(1) * 30_000;
        let marker_count = t.markers().len();
        let marks = if marker_count == previous.marker_count && span_ms == previous.span_ms {
            previous.marks.clone()
        } else {
            Self::marks(t, span_ms).into()
        };
        TimelineView {
            now_ms: t.now_ms(),
            end_ms,
            span_ms,
            marks,
            marker_count,
            branches: t.branches(),
            rewound: t.is_rewound(),
        }
    }

    fn marks(t: &raftchat_core::timeline::Timeline, span_ms: u64) -> String {
        use raftchat_core::timeline::MarkerKind;
        let mut marks: Vec<(u32, &'static str, String)> = t
            .markers()
            .iter()
            .map(|m| {
                let at = (m.at_ms as u128 * 1000 / span_ms as u128) as u32;
                let (kind, label) = match m.kind {
                    MarkerKind::Leader { node, term } => {
                        ("leader", format!("node {node} leads term {term}"))
                    }
                    MarkerKind::Crash { node } => ("crash", format!("node {node} crashed")),
                    MarkerKind::Restart { node } => ("restart", format!("node {node} restarted")),
                    MarkerKind::Partition => ("partition", "a link cut".to_string()),
                    MarkerKind::Heal => ("heal", "links healed".to_string()),
                    MarkerKind::Membership => ("membership", "membership changed".to_string()),
                    MarkerKind::Committed { index } => {
                        ("committed", format!("a message committed at {index}"))
                    }
                };
                (at, kind, label)
            })
            .collect();
        marks.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        marks.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        // Labels are the page's own text (numbers and words, no markup).
        let mut svg = String::from(
            r#"<svg class="marks" viewBox="0 0 1000 10" preserveAspectRatio="none" aria-hidden="true" data-testid="timeline-marks">"#,
        );
        for (at, kind, label) in marks {
            svg.push_str(&format!(
                r#"<line class="mark {kind}" x1="{at}" x2="{at}" y1="0" y2="10"><title>{label}</title></line>"#
            ));
        }
        svg.push_str("</svg>");
        svg
    }
}
