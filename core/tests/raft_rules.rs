//! Figure 2's rules, one test each, driven through the sans-IO API. Each test
//! quotes the rule it checks.

use raftchat_core::bugs::{Bug, BugSet};
use raftchat_core::raft::{Config, Raft, Ready};
use raftchat_core::storage::{MemStorage, PersistedState, Storage};
use raftchat_core::types::SnapshotMeta;
use raftchat_core::*;
use std::collections::BTreeMap;

type R = Raft<String>;

/// The driver's side of the contract, as these tests play it: a `Ready`'s
/// write is durable at once, and the node is told so (`Raft::persisted`).
trait Driver {
    fn take_written(&mut self) -> Ready<String>;
}

impl Driver for R {
    fn take_written(&mut self) -> Ready<String> {
        let ready = self.take_ready();
        self.persisted(ready.write.done());
        ready
    }
}

fn entry(index: Index, term: Term) -> Entry<String> {
    Entry {
        index,
        term,
        payload: Payload::Noop,
    }
}

fn persisted(
    voters: u32,
    term: Term,
    voted_for: Option<NodeId>,
    log_terms: &[Term],
) -> PersistedState<String> {
    PersistedState {
        hard_state: storage::HardState { term, voted_for },
        base_index: 0,
        base_term: 0,
        base_config: Membership::new(1..=voters),
        snapshot: None,
        entries: log_terms
            .iter()
            .enumerate()
            .map(|(i, &t)| entry(i as Index + 1, t))
            .collect(),
    }
}

fn node(id: NodeId, voters: u32, term: Term, log_terms: &[Term]) -> R {
    Raft::new(
        Config::new(id, id as u64),
        persisted(voters, term, None, log_terms),
        0,
    )
}

fn log_terms(r: &R) -> Vec<Term> {
    r.log().entries().iter().map(|e| e.term).collect()
}

fn msg(from: NodeId, to: NodeId, term: Term, body: MessageBody<String>) -> Message<String> {
    Message {
        from,
        to,
        term,
        body,
    }
}

/// A heartbeat from the leader of an empty log: AppendEntries with no entries.
fn heartbeat() -> MessageBody<String> {
    MessageBody::AppendEntries {
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![],
        leader_commit: 0,
    }
}

fn request_vote(
    from: NodeId,
    to: NodeId,
    term: Term,
    last_log_index: Index,
    last_log_term: Term,
) -> Message<String> {
    msg(
        from,
        to,
        term,
        MessageBody::RequestVote {
            last_log_index,
            last_log_term,
            transfer: false,
        },
    )
}

fn granted(ready: &Ready<String>) -> Vec<bool> {
    ready
        .messages
        .iter()
        .filter_map(|m| match m.body {
            MessageBody::RequestVoteReply { granted } => Some(granted),
            _ => None,
        })
        .collect()
}

fn append_replies(ready: &Ready<String>) -> Vec<(bool, Index, Term)> {
    ready
        .messages
        .iter()
        .filter_map(|m| match m.body {
            MessageBody::AppendEntriesReply {
                success,
                match_index,
                ..
            } => Some((success, match_index, m.term)),
            _ => None,
        })
        .collect()
}

/// Makes `id` leader of `term` in a cluster of `voters` by a forced election and
/// granted votes from `voters_granting`.
fn leader(id: NodeId, voters: u32, term: Term, log: &[Term], voters_granting: &[NodeId]) -> R {
    let mut r = node(id, voters, term - 1, log);
    r.timeout_now(1);
    r.take_written(); // its RequestVotes leave once its vote is durable
    assert_eq!((r.role(), r.term()), (Role::Candidate, term));
    for &v in voters_granting {
        r.step(
            2,
            msg(v, id, term, MessageBody::RequestVoteReply { granted: true }),
        );
    }
    assert_eq!(r.role(), Role::Leader);
    r.take_written();
    r
}

#[test]
fn vote_only_for_a_candidate_whose_log_is_at_least_as_up_to_date() {
    // §5.4.1: "the voter denies its vote if its own log is more up-to-date than
    // that of the candidate ... If the logs have last entries with different terms,
    // then the log with the later term is more up-to-date. If the logs end with the
    // same term, then whichever log is longer is more up-to-date."
    let cases = [
        ((10, 2), false),
        ((2, 3), false),
        ((3, 3), true),
        ((1, 4), true),
    ];
    for ((last_index, last_term), expect) in cases {
        let mut r = node(1, 5, 3, &[1, 1, 3]);
        r.step(1, request_vote(2, 1, 4, last_index, last_term));
        assert_eq!(
            granted(&r.take_written()),
            vec![expect],
            "candidate log ending at {last_index}@{last_term}"
        );
    }
}

#[test]
fn at_most_one_vote_per_term() {
    // §5.2: "Each server will vote for at most one candidate in a given term, on a
    // first-come-first-served basis."
    let mut r = node(1, 5, 3, &[1]);
    r.step(1, request_vote(2, 1, 4, 1, 1));
    r.step(1, request_vote(3, 1, 4, 1, 1));
    r.step(1, request_vote(2, 1, 4, 1, 1)); // a retransmission is answered the same
    assert_eq!(granted(&r.take_written()), vec![true, false, true]);
}

#[test]
fn a_vote_is_durable_before_the_reply_and_survives_a_restart() {
    // Figure 2: "Persistent state on all servers: (Updated on stable storage before
    // responding to RPCs) currentTerm, votedFor".
    let mut disk = MemStorage::new(Membership::new(1..=3));
    let mut r: R = Raft::new(Config::new(1, 1), disk.load().unwrap(), 0);
    r.step(1, request_vote(2, 1, 4, 0, 0));
    let ready = r.take_written();
    assert_eq!(granted(&ready), vec![true]);
    assert_eq!(
        ready.write.hard_state,
        Some(storage::HardState {
            term: 4,
            voted_for: Some(2)
        })
    );
    disk.write(&ready.write).unwrap();
    // Crash and restart from the disk alone: the node must not vote again in term 4.
    let mut r: R = Raft::new(Config::new(1, 1), disk.load().unwrap(), 5);
    assert_eq!((r.term(), r.voted_for()), (4, Some(2)));
    r.step(6, request_vote(3, 1, 4, 0, 0));
    assert_eq!(granted(&r.take_written()), vec![false]);
}

#[test]
fn append_entries_from_a_stale_term_is_rejected() {
    // AppendEntries receiver, rule 1: "Reply false if term < currentTerm (§5.1)".
    let mut r = node(1, 3, 3, &[1, 1]);
    let deadline = r.election_deadline_ms();
    let stale = MessageBody::AppendEntries {
        prev_log_index: 2,
        prev_log_term: 1,
        entries: vec![entry(3, 2)],
        leader_commit: 3,
    };
    r.step(1, msg(2, 1, 2, stale));
    let ready = r.take_written();
    assert_eq!(
        append_replies(&ready),
        vec![(false, 0, 3)],
        "rejected, with our term so the stale leader steps down"
    );
    assert_eq!(log_terms(&r), vec![1, 1], "log unchanged");
    assert_eq!(
        (r.leader(), r.commit_index()),
        (None, 0),
        "no leader learned, nothing committed"
    );
    assert_eq!(
        r.election_deadline_ms(),
        deadline,
        "a stale leader does not hold off elections"
    );
}

#[test]
fn a_conflicting_suffix_is_truncated() {
    // AppendEntries receiver, rule 3: "If an existing entry conflicts with a new one
    // (same index but different terms), delete the existing entry and all that
    // follow it (§5.3)".
    let mut r = node(1, 3, 2, &[1, 1, 2, 2, 2]);
    let body = MessageBody::AppendEntries {
        prev_log_index: 2,
        prev_log_term: 1,
        entries: vec![entry(3, 3)],
        leader_commit: 0,
    };
    r.step(1, msg(2, 1, 3, body));
    let ready = r.take_written();
    assert_eq!(
        log_terms(&r),
        vec![1, 1, 3],
        "entries 4 and 5 of term 2 are gone too"
    );
    assert_eq!(
        ready.write.truncate_from,
        Some(3),
        "the truncation is made durable"
    );
    assert_eq!(ready.write.entries, vec![entry(3, 3)]);
    assert_eq!(append_replies(&ready), vec![(true, 3, 3)]);
}

#[test]
fn a_stale_append_never_shortens_the_log() {
    // Rule 3 removes entries only on a conflict: a delayed AppendEntries that
    // matches a prefix must not drop what follows (reordering, §5.3).
    let mut r = node(1, 3, 3, &[1, 1, 3]);
    let body = MessageBody::AppendEntries {
        prev_log_index: 1,
        prev_log_term: 1,
        entries: vec![entry(2, 1)],
        leader_commit: 0,
    };
    r.step(1, msg(2, 1, 3, body));
    assert_eq!(log_terms(&r), vec![1, 1, 3]);
    assert_eq!(append_replies(&r.take_written()), vec![(true, 2, 3)]);
}

#[test]
fn a_batch_that_arrives_early_is_rejected_and_applied_once_the_hole_is_filled() {
    // Rule 2 still answers a batch that begins past the end of the log
    // ("Reply false if log doesn't contain an entry at prevLogIndex"), but once
    // this follower has accepted an AppendEntries from the leader of its term
    // it keeps a copy: as if the network had duplicated the message and
    // delivered the copy after the batch before it.
    let mut f = node(2, 3, 2, &[1]);
    let append = |prev: Index, terms: &[Term]| {
        let entries = terms
            .iter()
            .enumerate()
            .map(|(i, &t)| entry(prev + 1 + i as Index, t))
            .collect();
        let body = MessageBody::AppendEntries {
            prev_log_index: prev,
            prev_log_term: if prev == 0 { 0 } else { 1 },
            entries,
            leader_commit: 0,
        };
        msg(1, 2, 2, body)
    };
    // Before accepting one: the leader is probing, a rejection is all.
    f.step(1, append(2, &[2]));
    assert_eq!(append_replies(&f.take_written()), vec![(false, 0, 2)]);
    f.step(2, append(1, &[2]));
    assert_eq!(append_replies(&f.take_written()), vec![(true, 2, 2)]);
    assert_eq!(log_terms(&f), vec![1, 2], "the probe was not kept");
    // Streaming: batch 4 arrives before batch 3.
    let batch = |prev: Index| {
        let mut m = append(prev, &[2]);
        if let MessageBody::AppendEntries { prev_log_term, .. } = &mut m.body {
            *prev_log_term = 2;
        }
        m
    };
    f.step(3, batch(3));
    assert_eq!(append_replies(&f.take_written()), vec![(false, 0, 2)]);
    assert_eq!(log_terms(&f), vec![1, 2]);
    f.step(4, batch(2));
    assert_eq!(
        append_replies(&f.take_written()),
        vec![(true, 3, 2), (true, 4, 2)],
        "batch 3, then the copy of batch 4"
    );
    assert_eq!(log_terms(&f), vec![1, 2, 2, 2]);
    // A copy from an earlier term is never applied: a new term drops them.
    // (Batch 6, held, and then a term-3 leader's batch 5.)
    f.step(5, batch(5));
    f.step(6, request_vote(3, 2, 3, 4, 2));
    f.take_written();
    let mut late = batch(4);
    late.term = 3;
    f.step(7, late);
    assert_eq!(
        log_terms(&f),
        vec![1, 2, 2, 2, 2],
        "batch 5 only: the term-2 copy of batch 6 was dropped"
    );
}

#[test]
fn append_entries_fails_without_a_matching_previous_entry() {
    // Rule 2: "Reply false if log doesn't contain an entry at prevLogIndex whose
    // term matches prevLogTerm (§5.3)", with a hint for fast back-off.
    let mut r = node(1, 3, 3, &[1, 1, 2, 2]);
    let body = |prev_log_index, prev_log_term| MessageBody::AppendEntries {
        prev_log_index,
        prev_log_term,
        entries: vec![],
        leader_commit: 0,
    };
    r.step(1, msg(2, 1, 3, body(4, 3)));
    r.step(1, msg(2, 1, 3, body(9, 3)));
    let hints: Vec<_> = r
        .take_written()
        .messages
        .into_iter()
        .filter_map(|m| match m.body {
            MessageBody::AppendEntriesReply {
                success: false,
                hint,
                ..
            } => hint,
            _ => None,
        })
        .collect();
    assert_eq!(
        hints,
        vec![
            ConflictHint {
                term: Some(2),
                index: 3,
                held: None,
            },
            ConflictHint {
                term: None,
                index: 5,
                held: None,
            }
        ]
    );
}

#[test]
fn a_leader_commits_only_current_term_entries_by_counting_replicas() {
    // §5.4.2: "Raft never commits log entries from previous terms by counting
    // replicas. Only log entries from the leader's current term are committed by
    // counting replicas; once an entry from the current term has been committed in
    // this way, then all prior entries are committed indirectly" (Figure 8).
    let mut r = leader(1, 5, 3, &[1, 1], &[2, 3]);
    assert_eq!(
        log_terms(&r),
        vec![1, 1, 3],
        "the leader appended its no-op"
    );
    let ack = |from, match_index| {
        msg(
            from,
            1,
            3,
            MessageBody::AppendEntriesReply {
                prev_log_index: 1,
                success: true,
                match_index,
                hint: None,
            },
        )
    };
    // Entry 2 (term 1) is on S1, S2 and S3, a majority of five, but is from an
    // earlier term: it must not commit by counting.
    r.step(5, ack(2, 2));
    r.step(5, ack(3, 2));
    assert_eq!(r.commit_index(), 0);
    // Once the current term's entry 3 is on a majority, 3 and everything before commit.
    r.step(6, ack(2, 3));
    r.step(6, ack(3, 3));
    assert_eq!(r.commit_index(), 3);
    let committed: Vec<Index> = r.take_written().committed.iter().map(|e| e.index).collect();
    assert_eq!(committed, vec![1, 2, 3]);
}

#[test]
fn candidates_need_a_majority_and_leaders_start_with_a_no_op() {
    // §5.2: "A candidate wins an election if it receives votes from a majority of
    // the servers in the full cluster for the same term."
    let mut r = node(1, 5, 0, &[]);
    r.timeout_now(1);
    r.take_written(); // its RequestVotes leave once its vote is durable
    r.step(
        2,
        msg(2, 1, 1, MessageBody::RequestVoteReply { granted: true }),
    );
    r.step(
        2,
        msg(3, 1, 1, MessageBody::RequestVoteReply { granted: false }),
    );
    r.step(
        2,
        msg(2, 1, 1, MessageBody::RequestVoteReply { granted: true }),
    ); // duplicate
    assert_eq!(r.role(), Role::Candidate, "2 of 5 votes is not a majority");
    r.step(
        3,
        msg(4, 1, 1, MessageBody::RequestVoteReply { granted: true }),
    );
    assert_eq!(r.role(), Role::Leader);
    assert_eq!(
        r.log().entries(),
        &[entry(1, 1)],
        "§8: a no-op at the start of the term"
    );
}

#[test]
fn a_candidate_steps_down_when_it_hears_from_a_leader_of_its_term() {
    // §5.2: "If the leader's term ... is at least as large as the candidate's
    // current term, then the candidate recognizes the leader as legitimate and
    // returns to follower state."
    let mut r = node(1, 3, 0, &[]);
    r.timeout_now(1);
    let hb = heartbeat();
    r.step(2, msg(2, 1, 1, hb));
    assert_eq!(
        (r.role(), r.leader(), r.term()),
        (Role::Follower, Some(2), 1)
    );
}

#[test]
fn election_timeouts_are_randomized_within_the_configured_range() {
    // §5.2: "election timeouts are chosen randomly from a fixed interval (e.g.,
    // 150–300ms)".
    let deadlines: Vec<u64> = (0..200)
        .map(|seed| {
            Raft::<String>::new(Config::new(1, seed), persisted(3, 0, None, &[]), 0)
                .election_deadline_ms()
        })
        .collect();
    assert!(deadlines.iter().all(|d| (150..=300).contains(d)));
    assert!(
        deadlines.iter().max().unwrap() - deadlines.iter().min().unwrap() > 100,
        "spread over the range"
    );
}

/// Delivers messages among `nodes` until none is left (no loss, in order).
fn pump(nodes: &mut BTreeMap<NodeId, R>) -> Vec<Message<String>> {
    let mut all = Vec::new();
    let mut queue: Vec<Message<String>> = nodes
        .values_mut()
        .flat_map(|r| r.take_written().messages)
        .collect();
    while !queue.is_empty() {
        let mut next = Vec::new();
        for m in queue {
            all.push(m.clone());
            if let Some(r) = nodes.get_mut(&m.to) {
                r.step(10, m);
                next.extend(r.take_written().messages);
            }
        }
        queue = next;
    }
    all
}

#[test]
fn fast_back_off_brings_figure_7_followers_up_to_date() {
    // Figure 7: the leader for term 8 and followers (a)–(f). Each must end with
    // the leader's log, and the conflict hints must skip whole terms (§5.3:
    // "the follower can include the term of the conflicting entry and the first
    // index it stores for that term").
    let leader_log = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    let followers: [&[Term]; 6] = [
        &[1, 1, 1, 4, 4, 5, 5, 6, 6],
        &[1, 1, 1, 4],
        &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
        &[1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
        &[1, 1, 1, 4, 4, 4, 4],
        &[1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    ];
    for (i, f) in followers.iter().enumerate() {
        let mut nodes = BTreeMap::new();
        // Followers (c) and (d) are more up to date than the leader and refuse it
        // their vote; a third server with the leader's log elects it, as in the figure.
        let mut l = node(1, 3, 7, &leader_log);
        l.timeout_now(1);
        nodes.insert(1, l);
        nodes.insert(2, node(2, 3, 7, f));
        nodes.insert(3, node(3, 3, 7, &leader_log));
        let msgs = pump(&mut nodes);
        let (l, f2) = (&nodes[&1], &nodes[&2]);
        assert_eq!(
            l.role(),
            Role::Leader,
            "follower ({})",
            (b'a' + i as u8) as char
        );
        assert_eq!(
            log_terms(f2),
            log_terms(l),
            "follower ({}) ends with the leader's log",
            (b'a' + i as u8) as char
        );
        let rejections = msgs
            .iter()
            .filter(|m| m.kind() == MessageKind::AppendRejected)
            .count();
        assert!(
            rejections <= 3,
            "follower ({}) needed {rejections} rejections",
            (b'a' + i as u8) as char
        );
    }
}

#[test]
fn requests_through_a_follower_are_forwarded_or_queued_until_a_leader_is_known() {
    let req = |seq| Request {
        client: 7,
        seq,
        command: format!("m{seq}"),
    };
    let mut cfg = Config::new(2, 2);
    cfg.max_queued_requests = 2;
    let mut f: R = Raft::new(cfg, persisted(3, 1, None, &[]), 0);
    // No leader known: held in a bounded queue.
    f.propose(1, req(1));
    f.propose(1, req(2));
    f.propose(1, req(3));
    let ready = f.take_written();
    assert!(ready.messages.is_empty());
    assert_eq!(ready.refused, vec![(7, 3, FailReason::QueueFull)]);
    assert_eq!(f.queued_requests(), 2);
    // A leader appears: the queue is forwarded to it.
    let hb = heartbeat();
    f.step(2, msg(1, 2, 1, hb));
    let forwarded: Vec<u64> = f
        .take_written()
        .messages
        .iter()
        .filter_map(|m| match &m.body {
            MessageBody::Forward { request } if m.to == 1 => Some(request.seq),
            _ => None,
        })
        .collect();
    assert_eq!(forwarded, vec![1, 2]);
    assert_eq!(f.queued_requests(), 0);
}

fn with_options(
    id: NodeId,
    voters: u32,
    term: Term,
    log: &[Term],
    pre_vote: bool,
    check_quorum: bool,
) -> R {
    let mut cfg = Config::new(id, id as u64);
    cfg.pre_vote = pre_vote;
    cfg.check_quorum = check_quorum;
    Raft::new(cfg, persisted(voters, term, None, log), 0)
}

#[test]
fn a_pre_candidate_changes_no_term_until_a_majority_would_vote() {
    // Thesis §9.6: "Only if the candidate believed it could get votes from a
    // majority of the cluster would it increment its term and start a normal
    // election."
    let mut r = with_options(1, 5, 3, &[1, 3], true, false);
    r.timeout_now(1);
    let ready = r.take_written();
    assert_eq!((r.role(), r.term()), (Role::PreCandidate, 3));
    assert_eq!(ready.write.hard_state, None, "nothing to persist");
    assert!(ready
        .messages
        .iter()
        .all(|m| m.kind() == MessageKind::PreVote && m.term == 4));
    let grant = |from| msg(from, 1, 4, MessageBody::PreVoteReply { granted: true });
    r.step(2, grant(2));
    assert_eq!(
        (r.role(), r.term()),
        (Role::PreCandidate, 3),
        "2 of 5 is not a majority"
    );
    r.step(2, grant(3));
    assert_eq!(
        (r.role(), r.term()),
        (Role::Candidate, 4),
        "now a real election, in term 4"
    );
}

#[test]
fn a_pre_vote_changes_nothing_on_the_receiver_and_respects_a_live_leader() {
    let pre_vote = |from| {
        msg(
            from,
            1,
            4,
            MessageBody::PreVote {
                last_log_index: 2,
                last_log_term: 3,
            },
        )
    };
    let mut r = with_options(1, 5, 3, &[1, 3], true, false);
    r.step(1, pre_vote(2));
    let ready = r.take_written();
    assert_eq!(ready.write.hard_state, None);
    assert_eq!((r.term(), r.voted_for()), (3, None));
    assert!(matches!(
        ready.messages[0].body,
        MessageBody::PreVoteReply { granted: true }
    ));
    assert_eq!(ready.messages[0].term, 4);
    // Having just heard from a leader, it refuses (§9.6: "if it hasn't received a
    // heartbeat from a valid leader for at least a baseline election timeout").
    let hb = MessageBody::AppendEntries {
        prev_log_index: 2,
        prev_log_term: 3,
        entries: vec![],
        leader_commit: 0,
    };
    r.step(10, msg(5, 1, 3, hb));
    r.take_written();
    r.step(20, pre_vote(2));
    let ready = r.take_written();
    assert!(matches!(
        ready.messages[0].body,
        MessageBody::PreVoteReply { granted: false }
    ));
    assert_eq!(ready.messages[0].term, 3);
}

#[test]
fn a_server_that_hears_its_leader_ignores_vote_requests() {
    // §4.2.3: "if a server receives a RequestVote request within the minimum
    // election timeout of hearing from a current leader, it does not update its
    // term or grant its vote."
    let hb = heartbeat();
    for check_quorum in [false, true] {
        let mut r = with_options(1, 3, 1, &[], false, check_quorum);
        r.step(10, msg(2, 1, 1, hb.clone()));
        r.take_written();
        r.step(20, request_vote(3, 1, 2, 5, 2));
        let ready = r.take_written();
        // Whatever CheckQuorum says: this is what keeps a removed server from
        // disrupting the cluster.
        assert!(ready.messages.is_empty(), "ignored");
        assert_eq!((r.term(), r.leader()), (1, Some(2)));
        // Once the minimum election timeout has passed without the leader, it
        // votes again.
        r.step(20 + 150, request_vote(3, 1, 2, 5, 2));
        assert_eq!(granted(&r.take_written()), vec![true]);
        assert_eq!(r.term(), 2);
    }
}

#[test]
fn a_transfer_sends_timeout_now_only_once_the_target_has_the_whole_log() {
    // §3.10: "The prior leader sends its log entries to the target server ...
    // then sends it a TimeoutNow request."
    let mut r = leader(1, 3, 2, &[1, 1], &[2]);
    assert!(r.transfer_leadership(5, 2).is_ok());
    let ready = r.take_written();
    assert!(
        ready
            .messages
            .iter()
            .all(|m| m.kind() != MessageKind::TimeoutNow),
        "target 2 is behind"
    );
    let ack = |m| {
        msg(
            2,
            1,
            2,
            MessageBody::AppendEntriesReply {
                prev_log_index: 2,
                success: true,
                match_index: m,
                hint: None,
            },
        )
    };
    r.step(6, ack(3));
    let sent: Vec<_> = r
        .take_written()
        .messages
        .iter()
        .map(|m| (m.to, m.kind()))
        .collect();
    assert!(sent.contains(&(2, MessageKind::TimeoutNow)), "{sent:?}");
    // Meanwhile the leader takes no new request into its log.
    let before = r.log().last_index();
    r.propose(
        7,
        Request {
            client: 1,
            seq: 1,
            command: "held".into(),
        },
    );
    assert_eq!(r.log().last_index(), before);
    // The target's election ends the transfer: done. (Its RequestVote says the
    // leader asked for it, so the leader's own lease does not hold it back.)
    r.step(
        8,
        msg(
            2,
            1,
            3,
            MessageBody::RequestVote {
                last_log_index: 3,
                last_log_term: 2,
                transfer: true,
            },
        ),
    );
    assert_eq!(
        r.take_written().transfer,
        Some(raft::TransferOutcome::Done { target: 2 })
    );
    assert_eq!(r.role(), Role::Follower);
}

// ----- membership changes (thesis chapter 4) ----------------------------------

/// A successful AppendEntries reply: `from` holds the leader's log up to `matched`.
fn accepted(from: NodeId, to: NodeId, term: Term, prev: Index, matched: Index) -> Message<String> {
    msg(
        from,
        to,
        term,
        MessageBody::AppendEntriesReply {
            prev_log_index: prev,
            success: true,
            match_index: matched,
            hint: None,
        },
    )
}

/// A leader of term 2 whose no-op (index 1) is committed.
fn settled_leader() -> R {
    let mut r = leader(1, 3, 2, &[], &[2]);
    // Node 2 acknowledges the no-op: it commits.
    r.step(3, accepted(2, 1, 2, 0, 1));
    r.take_written();
    assert_eq!(r.commit_index(), 1);
    r
}

#[test]
fn a_new_leader_changes_the_configuration_only_after_committing_in_its_term() {
    // The fix to single-server changes (thesis §4.1, raft-dev 2015): "a leader
    // may not append a new configuration entry until it has committed an entry
    // from its own term".
    let mut r = leader(1, 3, 2, &[1, 1], &[2]);
    assert_eq!(r.commit_index(), 0);
    let err = r.change_membership(3, ConfChange::Add(4)).unwrap_err();
    assert!(err.contains("own term"), "{err}");
    assert_eq!(r.membership(), &Membership::new([1, 2, 3]));
}

#[test]
fn only_one_configuration_change_may_be_uncommitted() {
    // Thesis §4.1: "a leader must not begin a new configuration change until the
    // previous one has committed".
    let mut r = settled_leader();
    let index = r.change_membership(4, ConfChange::Remove(3)).unwrap();
    // It takes effect as soon as it is appended (§4.1), before it commits.
    assert_eq!(r.membership(), &Membership::new([1, 2]));
    assert!(r.commit_index() < index);
    let err = r.change_membership(5, ConfChange::Remove(2)).unwrap_err();
    assert!(err.contains("not committed"), "{err}");
    // Once node 2 acknowledges it (the entry went out, written here first), it
    // commits (2 of the 2 voters) and the next change is allowed.
    r.take_written();
    r.step(6, accepted(2, 1, 2, 1, index));
    assert_eq!(r.commit_index(), index);
    assert!(r.change_membership(7, ConfChange::Add(4)).is_ok());
}

#[test]
fn a_new_server_is_a_learner_until_a_round_ends_within_an_election_timeout() {
    // Thesis §4.2.1: it does not count for the majority while it catches up.
    let mut r = settled_leader();
    let index = r.change_membership(4, ConfChange::Add(4)).unwrap();
    let m = r.membership().clone();
    assert!(m.learners.contains(&4) && !m.contains(4));
    // Entries go to the learner too.
    let ready = r.take_written();
    assert!(ready.messages.iter().any(|m| m.to == 4));
    // The learner alone acknowledging does not commit (it is no voter)...
    r.step(10, accepted(4, 1, 2, 1, index));
    assert_eq!(r.commit_index(), 1);
    // ... a voter does. The learner's round ended 6 ms after it began: it is
    // promoted at once.
    r.step(11, accepted(2, 1, 2, 1, index));
    assert_eq!(r.commit_index(), index);
    let ready = r.take_written();
    assert!(matches!(
        ready.catch_up,
        Some(raft::CatchUpOutcome::Promoted { node: 4, rounds: 1 })
    ));
    assert!(r.membership().contains(4));
    assert_eq!(r.membership().voters.len(), 4);
}

#[test]
fn a_leader_that_removes_itself_steps_down_once_the_change_commits() {
    // Thesis §4.2.2.
    let mut r = settled_leader();
    let index = r.change_membership(4, ConfChange::Remove(1)).unwrap();
    assert_eq!(
        r.role(),
        Role::Leader,
        "it still leads until the change commits"
    );
    r.take_written();
    r.step(5, accepted(2, 1, 2, 1, index));
    // 1 of the 2 voters (2, 3) is not a majority: not committed yet.
    assert_eq!(r.role(), Role::Leader);
    r.step(6, accepted(3, 1, 2, 1, index));
    assert_eq!(r.commit_index(), index);
    assert_eq!((r.role(), r.leader()), (Role::Follower, None));
    // Its last heartbeats tell the others the change committed.
    let ready = r.take_written();
    assert!(ready.messages.iter().any(|m| matches!(
        m.body,
        MessageBody::AppendEntries { leader_commit, .. } if leader_commit == index
    )));
    // Not a voter any more: it never stands for election.
    r.tick(100_000);
    assert_eq!(r.role(), Role::Follower);
}

// ----- snapshots (thesis chapter 5) -------------------------------------------

#[test]
fn install_snapshot_arrives_in_chunks_each_resetting_the_election_timer() {
    let mut r = node(2, 3, 1, &[1]);
    let meta = SnapshotMeta {
        index: 5,
        term: 1,
        config: Membership::new([1, 2, 3]),
    };
    let data: Vec<u8> = (0..10u8).collect();
    let chunk = |offset: usize, len: usize| MessageBody::InstallSnapshot {
        meta: Box::new(meta.clone()),
        offset: offset as u64,
        total_bytes: 10,
        data: data[offset..offset + len].to_vec(),
        done: offset + len == 10,
    };
    let reply = |ready: &Ready<String>| match &ready.messages[..] {
        [Message {
            body:
                MessageBody::InstallSnapshotReply {
                    next_offset,
                    installed,
                    ..
                },
            ..
        }] => (*next_offset, *installed),
        other => panic!("{other:?}"),
    };
    r.step(100, msg(1, 2, 1, chunk(0, 4)));
    let deadline = r.election_deadline_ms();
    assert!(deadline >= 100 + 150);
    assert_eq!(reply(&r.take_written()), (4, false));
    // A chunk out of place is answered with where to resume.
    r.step(200, msg(1, 2, 1, chunk(8, 2)));
    assert_eq!(reply(&r.take_written()), (4, false));
    assert!(
        r.election_deadline_ms() >= 200 + 150,
        "each chunk resets the timer"
    );
    r.step(210, msg(1, 2, 1, chunk(4, 4)));
    assert_eq!(reply(&r.take_written()), (8, false));
    r.step(220, msg(1, 2, 1, chunk(8, 2)));
    let ready = r.take_written();
    assert_eq!(reply(&ready), (10, true));
    // Figure 13: the log (which did not hold entry 5) is discarded; the
    // snapshot is made durable and handed to the state machine.
    assert_eq!((r.log().first_index(), r.log().last_index()), (6, 5));
    assert_eq!(r.commit_index(), 5);
    let snap = ready
        .write
        .snapshot
        .as_ref()
        .expect("the snapshot is written");
    assert_eq!(&snap.data[..], &data[..]);
    let mut disk = MemStorage::from_state(persisted(3, 1, None, &[1]));
    disk.write(&ready.write).unwrap();
    let stored = disk.load().unwrap();
    assert_eq!((stored.base_index, stored.entries.len()), (5, 0));
    assert_eq!(stored.snapshot.as_deref(), Some(&data[..]));
    assert_eq!(ready.snapshot_installed.map(|s| s.meta), Some(meta));
}

fn propose_chat(r: &mut R, seq: u64) {
    let command = format!("m{seq}");
    r.propose(
        4,
        Request {
            client: 1,
            seq,
            command,
        },
    );
}

/// A settled leader whose entries 1..=3 are committed and compacted into a
/// 2,500-byte snapshot, just told that node 3 holds nothing: the snapshot's
/// first chunk is in its next `Ready`.
fn leader_owing_node_3_a_snapshot() -> R {
    let mut r = settled_leader();
    // Two more entries, applied: compact them all away.
    propose_chat(&mut r, 1);
    propose_chat(&mut r, 2);
    r.take_written();
    // Node 3 answers its first probe (it holds nothing): the leader streams
    // entries 1..=3 to it, which are lost.
    r.step(5, accepted(3, 1, 2, 0, 0));
    r.step(5, accepted(2, 1, 2, 1, 3));
    assert_eq!(r.commit_index(), 3);
    r.take_written();
    r.compact(3, std::sync::Arc::from(vec![7u8; 2500])).unwrap();
    // Node 3 still has nothing: a later append is rejected and it gets the
    // snapshot, in chunks of 1024 bytes, one at a time.
    let gap = MessageBody::AppendEntriesReply {
        prev_log_index: 3,
        success: false,
        match_index: 0,
        hint: Some(ConflictHint {
            term: None,
            index: 1,
            held: None,
        }),
    };
    r.step(6, msg(3, 1, 2, gap));
    r
}

#[test]
fn a_leader_sends_a_snapshot_when_the_entries_a_follower_needs_are_compacted() {
    let mut r = leader_owing_node_3_a_snapshot();
    let chunks: Vec<(u64, usize, bool)> = r
        .take_written()
        .messages
        .iter()
        .filter_map(|m| match &m.body {
            MessageBody::InstallSnapshot {
                offset, data, done, ..
            } if m.to == 3 => Some((*offset, data.len(), *done)),
            _ => None,
        })
        .collect();
    assert_eq!(chunks, vec![(0, 1024, false)]);
    let ack = |next_offset, installed| {
        msg(
            3,
            1,
            2,
            MessageBody::InstallSnapshotReply {
                index: 3,
                next_offset,
                installed,
            },
        )
    };
    r.step(7, ack(1024, false));
    r.step(8, ack(2048, false));
    let sent: Vec<_> = r
        .take_written()
        .messages
        .into_iter()
        .filter_map(|m| match m.body {
            MessageBody::InstallSnapshot {
                offset, data, done, ..
            } => Some((offset, data.len(), done)),
            _ => None,
        })
        .collect();
    assert_eq!(sent, vec![(1024, 1024, false), (2048, 452, true)]);
    r.step(9, ack(2500, true));
    assert_eq!(r.progress()[&3].match_index, 3);
}

#[test]
fn a_snapshot_transfer_ends_though_replies_repeat_and_the_leader_compacts_again() {
    // As above: entries 1..=3 committed and compacted into a 2,500-byte
    // snapshot; node 3 needs it.
    let mut r = leader_owing_node_3_a_snapshot();
    let chunks = |r: &mut R| -> Vec<(Index, u64, bool)> {
        r.take_written()
            .messages
            .into_iter()
            .filter_map(|m| match m.body {
                MessageBody::InstallSnapshot {
                    meta, offset, done, ..
                } => Some((meta.index, offset, done)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(chunks(&mut r), vec![(3, 0, false)]);
    let ack = |index, next_offset, installed| {
        let body = MessageBody::InstallSnapshotReply {
            index,
            next_offset,
            installed,
        };
        msg(3, 1, 2, body)
    };
    r.step(7, ack(3, 1024, false));
    assert_eq!(chunks(&mut r), vec![(3, 1024, false)]);
    // A duplicated reply, and a late one from further back, send nothing: one
    // chunk is out at a time (before, each sent one more, and a duplicated
    // network multiplied them).
    r.step(7, ack(3, 1024, false));
    r.step(7, ack(3, 0, false));
    assert_eq!(chunks(&mut r), vec![]);
    // The leader commits two more entries and compacts again meanwhile.
    propose_chat(&mut r, 3);
    propose_chat(&mut r, 4);
    r.take_written();
    r.step(8, accepted(2, 1, 2, 3, 5));
    assert_eq!(r.commit_index(), 5);
    assert_eq!(chunks(&mut r), vec![], "(entries 4 and 5 applied)");
    r.compact(5, std::sync::Arc::from(vec![8u8; 3000])).unwrap();
    // The transfer goes on with the snapshot it began with, to its end (a
    // transfer that started over at every compaction might never end).
    r.step(9, ack(3, 2048, false));
    assert_eq!(chunks(&mut r), vec![(3, 2048, true)]);
    r.step(10, ack(3, 2500, true));
    assert_eq!(r.progress()[&3].match_index, 3);
    // Entries 4 and 5 are compacted too: the newer snapshot follows.
    assert_eq!(chunks(&mut r), vec![(5, 0, false)]);
    // A duplicated "installed" sends nothing more.
    r.step(10, ack(3, 2500, true));
    assert_eq!(chunks(&mut r), vec![]);
}

#[test]
fn a_learner_that_never_catches_up_is_removed_again() {
    // Thesis §4.2.1: "The leader should also abort the change if the new server
    // is unavailable".
    let mut r = settled_leader();
    let index = r.change_membership(4, ConfChange::Add(4)).unwrap();
    // The learner entry commits (it goes out, node 2 acknowledges it); node 4
    // never answers.
    r.take_written();
    r.step(5, accepted(2, 1, 2, 1, index));
    assert_eq!(r.commit_index(), index);
    assert_eq!(r.catching_up(), Some((4, 1)));
    let mut outcome = None;
    for t in (10..=4_000).step_by(50) {
        r.tick(t);
        outcome = outcome.or(r.take_written().catch_up);
    }
    assert!(matches!(
        outcome,
        Some(raft::CatchUpOutcome::Abandoned { node: 4, .. })
    ));
    assert!(!r.membership().is_member(4));
    assert_eq!(r.catching_up(), None);
}

/// Repairs follower 2's log from leader 1 over a network that delivers in a
/// random order, duplicates a share of the messages, and lets the leader's
/// heartbeat fire every `deliveries_per_heartbeat` deliveries. Returns the
/// AppendEntries the leader sent to the follower, the heartbeats that fired,
/// and the duplicated rejections the leader received.
fn repair(
    leader_log: &[Term],
    follower_log: &[Term],
    seed: u64,
    duplicate_percent: u64,
    deliveries_per_heartbeat: u64,
) -> (usize, u64, usize) {
    let mut nodes = BTreeMap::new();
    let term = leader_log.last().copied().unwrap_or(0) + 1;
    nodes.insert(1, leader(1, 3, term, leader_log, &[3]));
    nodes.insert(2, node(2, 3, term - 1, follower_log));
    nodes.insert(3, node(3, 3, term - 1, leader_log));
    let mut rng = seed;
    let mut random = move |n: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) % n
    };
    let (mut now, mut heartbeats, mut appends_to_2, mut duplicated_rejections) = (10, 0, 0, 0);
    let mut queue: Vec<Message<String>> = Vec::new();
    for delivery in 0..100_000u64 {
        if delivery % deliveries_per_heartbeat == 0 || queue.is_empty() {
            now += 50; // the heartbeat interval
            heartbeats += 1;
            nodes.get_mut(&1).unwrap().tick(now);
            queue.extend(nodes.get_mut(&1).unwrap().take_written().messages);
        }
        let m = queue.swap_remove(random(queue.len() as u64) as usize);
        if random(100) < duplicate_percent {
            if m.kind() == MessageKind::AppendRejected {
                duplicated_rejections += 1;
            }
            queue.push(m.clone());
        }
        if (m.from, m.to, m.kind()) == (1, 2, MessageKind::AppendEntries) {
            appends_to_2 += 1;
        }
        let to = nodes.get_mut(&m.to).unwrap();
        to.step(now, m);
        queue.extend(to.take_written().messages);
        if log_terms(&nodes[&2]) == log_terms(&nodes[&1]) {
            return (appends_to_2, heartbeats, duplicated_rejections);
        }
    }
    panic!(
        "follower 2 not repaired after 100,000 deliveries: it has {:?}, the leader {:?}",
        log_terms(&nodes[&2]),
        log_terms(&nodes[&1])
    );
}

#[test]
fn log_repair_takes_about_one_probe_per_conflicting_term_under_reordering_and_duplication() {
    // §5.3 with the conflict hint ("the follower can include the term of the
    // conflicting entry and the first index it stores for that term"): one
    // rejected probe per conflicting term, then the entries. The leader holds one
    // entry per even term 2..=80; the follower shares the first 10, then holds two
    // entries of each odd term 21..=79, which the leader never had: 30
    // conflicting terms, 60 divergent entries.
    let leader_log: Vec<Term> = (1..=40).map(|t| 2 * t).collect();
    let mut follower_log: Vec<Term> = leader_log[..10].to_vec();
    for t in (21..=79).step_by(2) {
        follower_log.extend([t, t]);
    }
    let conflicting_terms = 30;
    // In order, no loss, no duplicates, no heartbeat during the repair.
    let (appends, heartbeats, _) = repair(&leader_log, &follower_log, 1, 0, u64::MAX);
    assert!(
        appends <= conflicting_terms + 2,
        "{appends} AppendEntries for {conflicting_terms} conflicting terms ({heartbeats} heartbeats)"
    );
    // Reordered, 30 % duplicated, a heartbeat every 5 deliveries: a rejection
    // that does not answer the probe outstanding changes nothing, so the probes
    // never multiply. Each heartbeat adds one AppendEntries (itself), and a
    // duplicated rejection at most one: one that arrives after the follower
    // matched but before it acknowledged the entries looks like a new gap.
    for seed in 1..=50 {
        let (appends, heartbeats, duplicates) = repair(&leader_log, &follower_log, seed, 30, 5);
        let bound = conflicting_terms + 2 + heartbeats as usize + duplicates;
        assert!(
            appends <= bound,
            "seed {seed}: {appends} AppendEntries, bound {bound} ({conflicting_terms} conflicting terms + 2 + {heartbeats} heartbeats + {duplicates} duplicated rejections)"
        );
    }
}

#[test]
fn a_rejection_at_the_followers_match_draws_no_probe_even_from_a_leader_that_ignores_its_term() {
    // §5.1: "If RPC request or response contains term T > currentTerm: set
    // currentTerm = T, convert to follower". With that rule switched off, a
    // deposed leader keeps sending heartbeats, each rejected for its stale term
    // at the index the follower already matched. Probing again there cannot
    // help (the follower holds that entry), and once every copy of every
    // rejection drew a probe, the probes multiplied without end: 10 million
    // messages in a minute of a 5-node run with duplication off.
    let reject = |r: &mut R, prev| {
        r.step(
            10,
            msg(
                2,
                1,
                3,
                MessageBody::AppendEntriesReply {
                    prev_log_index: prev,
                    success: false,
                    match_index: 0,
                    hint: None,
                },
            ),
        );
        r.take_written().messages
    };
    let mut r = settled_leader(); // node 2 matches index 1
    r.set_bugs(BugSet::only(Bug::IgnoreHigherTermReply));
    for copy in 1..=3 {
        let out = reject(&mut r, 1);
        assert_eq!(r.role(), Role::Leader, "the rule is switched off");
        assert!(out.is_empty(), "copy {copy} of the rejection drew {out:?}");
    }
    // With the rule on, the first copy deposes the leader.
    let mut r = settled_leader();
    reject(&mut r, 1);
    assert_eq!((r.role(), r.term()), (Role::Follower, 3));
}

/// Streams `entries` new entries from leader 1 to follower 2, `max_batch` at a
/// time, over a network that delivers in a random order (in order with seed
/// 0), duplicates a share of the messages, and lets the leader's heartbeat
/// fire every `deliveries_per_heartbeat` deliveries (server 3 never answers).
/// Returns the batches the leader proposed, the AppendEntries with entries it
/// sent to the follower from then on, and the heartbeats that fired.
fn stream(
    entries: u64,
    max_batch: usize,
    seed: u64,
    duplicate_percent: u64,
    deliveries_per_heartbeat: u64,
) -> (u64, u64, u64) {
    let mut cfg = Config::new(1, 1);
    cfg.max_entries_per_append = max_batch;
    let mut l: R = Raft::new(cfg, persisted(3, 1, None, &[1]), 0);
    l.timeout_now(1);
    l.take_written();
    l.step(
        2,
        msg(3, 1, 2, MessageBody::RequestVoteReply { granted: true }),
    );
    assert_eq!(l.role(), Role::Leader);
    let mut nodes = BTreeMap::from([(1, l), (2, node(2, 3, 1, &[1]))]);
    let mut queue: Vec<Message<String>> = nodes.get_mut(&1).unwrap().take_written().messages;
    // In order first: the no-op and its acknowledgement, so that the leader
    // streams to the follower (Replicate).
    while let Some(m) = queue.pop() {
        if let Some(to) = nodes.get_mut(&m.to) {
            to.step(5, m);
            queue.extend(to.take_written().messages);
        }
    }
    assert_eq!(log_terms(&nodes[&2]), vec![1, 2]);
    let appends_in = |out: &[Message<String>]| {
        out.iter()
            .filter(|m| (m.to, m.kind()) == (2, MessageKind::AppendEntries))
            .count() as u64
    };
    let (mut batches, mut appends) = (0, 0);
    let leader = nodes.get_mut(&1).unwrap();
    for first in (1..=entries).step_by(max_batch) {
        for seq in first..(first + max_batch as u64).min(entries + 1) {
            let command = format!("m{seq}");
            leader.propose(
                10,
                Request {
                    client: 1,
                    seq,
                    command,
                },
            );
        }
        batches += 1;
        let out = leader.take_written().messages;
        appends += appends_in(&out);
        queue.extend(out);
    }
    let mut rng = seed;
    let mut random = move |n: u64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) % n
    };
    let (mut now, mut heartbeats) = (10, 0);
    for delivery in 1..=1_000_000u64 {
        if log_terms(&nodes[&2]) == log_terms(&nodes[&1]) {
            return (batches, appends, heartbeats);
        }
        if delivery % deliveries_per_heartbeat == 0 || queue.is_empty() {
            now += 50; // the heartbeat interval
            heartbeats += 1;
            let leader = nodes.get_mut(&1).unwrap();
            leader.tick(now);
            let out = leader.take_written().messages;
            appends += appends_in(&out);
            queue.extend(out);
        }
        let at = if seed == 0 {
            0
        } else {
            random(queue.len() as u64) as usize
        };
        let m = queue.remove(at);
        if seed != 0 && random(100) < duplicate_percent {
            queue.push(m.clone());
        }
        let Some(to) = nodes.get_mut(&m.to) else {
            continue;
        };
        to.step(now, m);
        let out = to.take_written().messages;
        appends += appends_in(&out);
        queue.extend(out);
    }
    panic!(
        "follower 2 not caught up after 1,000,000 deliveries: it has {} entries, the leader {}",
        nodes[&2].log().last_index(),
        nodes[&1].log().last_index()
    );
}

#[test]
fn a_reordered_stream_costs_each_batch_at_most_one_more() {
    // A leader streams batches to a follower it knows to match (Replicate)
    // without waiting for answers. Out of order, the follower rejects each
    // batch that arrives before the one it follows (Figure 2) but keeps a copy
    // for when the hole is filled; the leader sends again only the batch at the
    // hole, once per rejection that tells something new. In order nothing is
    // sent twice.
    let (batches, appends, _) = stream(600, 4, 0, 0, u64::MAX);
    assert_eq!(
        appends, batches,
        "in order: {appends} AppendEntries for {batches} batches"
    );
    // Every message in a random order of all those in flight, 30 % duplicated,
    // a heartbeat every 20 deliveries (each may send the first batch not
    // acknowledged again): at most one batch more per batch, plus one per
    // heartbeat. (Before, each rejection sent the whole backlog again, and
    // each of those batches' rejections did the same.)
    for seed in 1..=30 {
        let (batches, appends, heartbeats) = stream(600, 4, seed, 30, 20);
        let bound = 2 * batches + heartbeats;
        assert!(
            appends <= bound,
            "seed {seed}: {appends} AppendEntries for {batches} batches, bound {bound} (2 per batch + 1 per heartbeat, {heartbeats} heartbeats)"
        );
    }
}

// ----- the paths around the classic bugs -------------------------------------

#[test]
fn a_follower_commits_no_further_than_its_last_new_entry() {
    // Figure 2, AppendEntries rule 5: "If leaderCommit > commitIndex, set
    // commitIndex = min(leaderCommit, index of last new entry)". Entries 3 and
    // 4 here are from a deposed leader: a heartbeat that vouches only up to
    // index 2 must not commit them, however far the leader has committed.
    let mut f = node(2, 3, 1, &[1, 1, 1, 1]);
    f.step(
        1,
        msg(
            1,
            2,
            2,
            MessageBody::AppendEntries {
                prev_log_index: 2,
                prev_log_term: 1,
                entries: vec![],
                leader_commit: 6,
            },
        ),
    );
    assert_eq!(append_replies(&f.take_written()), vec![(true, 2, 2)]);
    assert_eq!(
        f.commit_index(),
        2,
        "only what the leader's message matched"
    );
    assert_eq!(log_terms(&f), vec![1, 1, 1, 1], "nothing was shortened");
    // Nor past what it holds: a lagging follower commits what it has.
    let mut g = node(3, 3, 1, &[1]);
    g.step(
        1,
        msg(
            1,
            3,
            2,
            MessageBody::AppendEntries {
                prev_log_index: 1,
                prev_log_term: 1,
                entries: vec![entry(2, 2)],
                leader_commit: 9,
            },
        ),
    );
    assert_eq!(g.commit_index(), 2);
    let applied: Vec<Index> = g.take_written().committed.iter().map(|e| e.index).collect();
    assert_eq!(
        applied,
        vec![1, 2],
        "applied in order, each once, none past the log"
    );
}

#[test]
fn a_leader_steps_down_on_a_higher_term_in_any_reply() {
    // §5.1: "If RPC request or response contains term T > currentTerm: set
    // currentTerm = T, convert to follower".
    for reply in [
        MessageBody::AppendEntriesReply {
            prev_log_index: 1,
            success: false,
            match_index: 0,
            hint: None,
        },
        MessageBody::ReadHeartbeatReply { round: 1 },
        MessageBody::RequestVoteReply { granted: false },
    ] {
        let mut r = settled_leader();
        r.read(4, 77);
        r.take_written();
        r.step(5, msg(2, 1, 5, reply.clone()));
        assert_eq!((r.role(), r.term()), (Role::Follower, 5), "{reply:?}");
        // A read it was confirming is not served: it fails.
        let ready = r.take_written();
        assert!(ready.reads_ready.is_empty(), "{reply:?}");
        assert!(ready.reads_failed.iter().any(|f| f.0 == 77), "{reply:?}");
    }
}

#[test]
fn a_deposed_leaders_read_heartbeat_is_answered_with_the_newer_term() {
    // A follower that has moved on answers a stale read confirmation with its
    // term (so the sender steps down), never with an acknowledgement in the
    // sender's term.
    let mut f = node(2, 3, 5, &[1]);
    f.step(1, msg(1, 2, 2, MessageBody::ReadHeartbeat { round: 3 }));
    let out = f.take_written().messages;
    assert_eq!(out.len(), 1);
    assert!(matches!(
        out[0].body,
        MessageBody::ReadHeartbeatReply { round: 3 }
    ));
    assert_eq!(out[0].term, 5);
}

#[test]
fn a_duplicated_vote_counts_once() {
    // Candidates: "If votes received from majority of servers: become leader" —
    // a majority of servers, not of messages: a duplicated reply is one vote.
    let mut r = node(1, 5, 1, &[1]);
    r.timeout_now(1);
    r.take_written(); // its RequestVotes leave once its vote is durable
    for _ in 0..3 {
        r.step(
            2,
            msg(2, 1, 2, MessageBody::RequestVoteReply { granted: true }),
        );
    }
    assert_eq!(
        r.role(),
        Role::Candidate,
        "itself and node 2 are two of five"
    );
    r.step(
        3,
        msg(3, 1, 2, MessageBody::RequestVoteReply { granted: true }),
    );
    assert_eq!(r.role(), Role::Leader);
}

#[test]
fn a_restarted_node_restores_term_vote_and_log_and_relearns_the_commit_index() {
    // Figure 2: currentTerm, votedFor and log[] are persistent; commitIndex and
    // lastApplied are volatile ("initialized to 0").
    let mut disk = MemStorage::new(Membership::new(1..=3));
    let mut r: R = Raft::new(Config::new(2, 2), disk.load().unwrap(), 0);
    r.step(1, request_vote(3, 2, 4, 0, 0));
    disk.write(&r.take_written().write).unwrap();
    r.step(
        2,
        msg(
            3,
            2,
            4,
            MessageBody::AppendEntries {
                prev_log_index: 0,
                prev_log_term: 0,
                entries: vec![entry(1, 4), entry(2, 4)],
                leader_commit: 2,
            },
        ),
    );
    assert_eq!(r.commit_index(), 2);
    disk.write(&r.take_written().write).unwrap();
    let r: R = Raft::new(Config::new(2, 2), disk.load().unwrap(), 3);
    assert_eq!((r.term(), r.voted_for()), (4, Some(3)));
    assert_eq!(log_terms(&r), vec![4, 4]);
    assert_eq!(r.commit_index(), 0, "relearned from the next leader");
    assert_eq!(r.role(), Role::Follower);
}

#[test]
fn stale_or_reordered_replies_never_move_a_followers_match_index_back() {
    // Leaders: "If successful: update nextIndex and matchIndex for follower" —
    // matchIndex only grows: a late reply for an earlier AppendEntries says
    // less than one already counted.
    let mut r = leader(1, 3, 2, &[1, 1, 1], &[2]);
    r.step(3, accepted(2, 1, 2, 3, 4));
    assert_eq!(r.commit_index(), 4);
    r.step(4, accepted(2, 1, 2, 0, 1)); // late
    let pr = r.progress().get(&2).expect("progress of node 2");
    assert_eq!(pr.match_index, 4);
    assert!(pr.next_index >= 5);
    assert_eq!(r.commit_index(), 4, "the commit index never goes back");
}

#[test]
fn a_learner_never_counts_toward_a_quorum() {
    // Thesis §4.2.1: a new server joins as a non-voting member; it receives
    // the log but is not counted in majorities.
    let mut r = settled_leader();
    r.change_membership(4, ConfChange::Add(4)).unwrap();
    let index = r.log().last_index();
    r.take_written();
    // Only the learner has the configuration entry: nothing commits.
    r.step(5, accepted(4, 1, 2, 0, index));
    assert!(r.commit_index() < index);
    r.step(6, accepted(2, 1, 2, 1, index));
    assert_eq!(r.commit_index(), index, "a voter's copy makes the majority");
}

#[test]
fn check_quorum_switched_on_counts_from_that_moment() {
    // Thesis §6.2: a leader steps down if an election timeout passes without
    // hearing from a majority. Switched on at 10 s, the first check is due an
    // election timeout after 10 s — not after the leader's last input (2 ms).
    let mut r = leader(1, 3, 2, &[1], &[2]);
    let max_ms = r.config().election_timeout_max_ms;
    r.set_options(10_000, false, true);
    r.tick(10_001);
    assert_eq!(r.role(), Role::Leader, "checked too early");
    r.tick(10_000 + max_ms);
    assert_ne!(
        r.role(),
        Role::Leader,
        "nobody answered for an election timeout: the leader steps down"
    );
}

#[test]
fn a_lone_voter_leads_and_commits_only_what_its_disk_holds() {
    // Figure 2: persistent state is "updated on stable storage before
    // responding to RPCs"; thesis §10.2.1: a leader's own copy of an entry
    // counts once it is durable. With other voters, their votes and
    // acknowledgements come after the node's own write; a lone voter has no
    // one else to wait for, so it waits for its disk.
    let mut r = node(1, 1, 0, &[]);
    r.timeout_now(1);
    let ready = r.take_ready();
    assert_eq!(
        (r.role(), r.term()),
        (Role::Candidate, 1),
        "its vote is handed out, not yet durable"
    );
    r.persisted(ready.write.done());
    assert_eq!(
        r.role(),
        Role::Leader,
        "its own vote is on disk: a majority"
    );
    r.propose(
        2,
        Request {
            client: 1,
            seq: 1,
            command: "hello".to_string(),
        },
    );
    let ready = r.take_ready();
    assert_eq!(ready.write.entries.len(), 2, "the no-op and the request");
    assert!(ready.committed.is_empty());
    assert_eq!(r.commit_index(), 0, "no disk holds them yet");
    r.persisted(ready.write.done());
    assert_eq!(r.commit_index(), 2);
    let committed: Vec<Index> = r.take_ready().committed.iter().map(|e| e.index).collect();
    assert_eq!(committed, vec![1, 2]);
}

#[test]
fn a_report_that_does_not_match_the_log_counts_for_nothing() {
    // A write's report names its last entry by index and term: a report of
    // other entries at that index (replaced since, §5.3) is not taken as
    // durable.
    let mut r = node(1, 1, 1, &[1, 1]);
    r.timeout_now(1);
    let ready = r.take_ready();
    r.persisted(ready.write.done());
    assert_eq!((r.role(), r.term()), (Role::Leader, 2));
    let ready = r.take_ready();
    assert_eq!(ready.write.done().last_entry, Some((3, 2)), "its no-op");
    r.persisted(storage::WriteDone {
        term: None,
        last_entry: Some((3, 1)),
    });
    assert_eq!(r.commit_index(), 0, "entry 3 of term 1 is not in the log");
    r.persisted(ready.write.done());
    assert_eq!(
        r.commit_index(),
        3,
        "the no-op, and with it what precedes it"
    );
}

#[test]
fn a_server_whose_removal_is_uncommitted_may_stand_and_hand_over() {
    // Node 3 was added ({2} + learner 3, then voters {2, 3}), led term 2 and
    // appended its own removal (voters {2}), which reached no one; it
    // restarted, knowing its commit index only from its (empty) snapshot.
    // Node 2 still has {2, 3} in effect and needs node 3's vote, which only a
    // log as up to date as node 3's gets (§5.4.1): unless node 3 stands, no
    // leader is ever elected. It stands, needs a majority of {2} — node 2; its
    // own vote does not count there — leads until {2} commits, and steps
    // down (thesis §4.2.2).
    let config = |voters: &[NodeId], learners: &[NodeId]| Membership {
        voters: voters.iter().copied().collect(),
        learners: learners.iter().copied().collect(),
    };
    let entries = vec![
        Entry {
            index: 1,
            term: 1,
            payload: Payload::Config(Box::new(config(&[2], &[3]))),
        },
        Entry {
            index: 2,
            term: 1,
            payload: Payload::Config(Box::new(config(&[2, 3], &[]))),
        },
        Entry {
            index: 3,
            term: 2,
            payload: Payload::Config(Box::new(config(&[2], &[]))),
        },
    ];
    let disk = PersistedState {
        hard_state: storage::HardState {
            term: 2,
            voted_for: Some(3),
        },
        base_index: 0,
        base_term: 0,
        base_config: config(&[2], &[]),
        snapshot: None,
        entries,
    };
    let mut r = Raft::new(Config::new(3, 3), disk, 0);
    assert!(
        !r.membership().contains(3),
        "removed in the configuration in effect"
    );
    r.timeout_now(1);
    r.take_written();
    assert_eq!(
        (r.role(), r.term()),
        (Role::Candidate, 3),
        "it stands; its own vote is not enough"
    );
    r.step(
        2,
        msg(2, 3, 3, MessageBody::RequestVoteReply { granted: true }),
    );
    assert_eq!(r.role(), Role::Leader, "node 2 is a majority of {{2}}");
    r.take_written();
    r.step(3, accepted(2, 3, 3, 3, 4));
    assert_eq!(r.commit_index(), 4, "{{2}} and the no-op commit on node 2");
    assert_ne!(r.role(), Role::Leader, "removed, it steps down");
}

#[test]
fn a_rejected_forward_is_handed_on_once_and_its_duplicate_ignored() {
    // A follower forwards a request to the leader it knows; that node no
    // longer leads (it stepped down in the same term) and rejects it, and the
    // network duplicates the rejection. Acting on every copy would forward the
    // request again each time — back to the same node, which rejects it again:
    // copies multiply. Only the rejection of the copy outstanding counts, and
    // since no other server can lead that term (§5.2), the follower knows no
    // leader and holds the request until one is known.
    let mut f: R = Raft::new(Config::new(2, 2), persisted(3, 1, None, &[]), 0);
    let hb = heartbeat();
    f.step(1, msg(1, 2, 1, hb));
    f.take_written();
    f.propose(
        2,
        Request {
            client: 7,
            seq: 1,
            command: "hi".to_string(),
        },
    );
    let forwards = |ready: &Ready<String>| {
        ready
            .messages
            .iter()
            .filter(|m| matches!(m.body, MessageBody::Forward { .. }))
            .count()
    };
    assert_eq!(forwards(&f.take_written()), 1);
    let rejected = || msg(1, 2, 1, MessageBody::ForwardRejected { client: 7, seq: 1 });
    f.step(3, rejected());
    f.step(3, rejected()); // the duplicate
    assert_eq!(forwards(&f.take_written()), 0, "not sent back to node 1");
    assert_eq!(f.leader(), None, "node 1 no longer leads term 1");
    assert_eq!(f.queued_requests(), 1, "held until a leader is known");
}
