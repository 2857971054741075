//! Bug switches: each breaks one rule of Raft on purpose, so that a class can
//! watch what the rule prevents (and the test suite can prove that the checker
//! notices). In the style of FoundationDB's BUGGIFY, the switches live in the
//! real code, at the place where the rule is enforced, and are off unless a
//! simulation asks: [`BugSet::NONE`] is every configuration's default.
//!
//! `raftchat-sim --list-bugs` prints the names; `--bug NAME` turns one on.

use serde::{Deserialize, Serialize};

/// One broken rule. The name (`--bug NAME`, the page's menu, recipes) is the
/// kebab-case form, e.g. `commit-old-term`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bug {
    /// §5.4.2, Figure 8: a leader commits an entry of an earlier term by
    /// counting the replicas that hold it.
    CommitOldTerm,
    /// Figure 2 ("updated on stable storage before responding to RPCs"): a
    /// vote is granted without being made durable, so a restarted server can
    /// vote twice in one term.
    VoteBeforeDurable,
    /// §5.1: AppendEntries from a leader of an earlier term is accepted.
    AcceptStaleTerm,
    /// §5.3: an entry that conflicts with the leader's is kept (the conflicting
    /// suffix is not deleted), and the follower still reports a match.
    KeepConflictingSuffix,
    /// §5.4.1 (the election restriction): a vote goes to a candidate whose log
    /// is less up to date than the voter's.
    VoteForStaleLog,
    /// Thesis §4.1: a configuration change is accepted while the previous one
    /// is not yet committed.
    TwoConfigChanges,
    /// Thesis §4.2.3: no vote lease: a server that hears from its leader still
    /// grants votes to (and takes the term of) a server that timed out, so a
    /// removed server deposes the leader.
    NoVoteLease,
    /// Figure 2, AppendEntries rule 5: a follower sets its commit index to the
    /// leader's (`commitIndex = leaderCommit`), not capped at the last entry
    /// the message brought: past the end of its log, or over entries that are
    /// not the leader's.
    UncappedFollowerCommit,
    /// §5.1: a leader ignores a higher term in a reply, and counts the reply
    /// (a read confirmation from a server that has moved on) as if current.
    IgnoreHigherTermReply,
    /// §6.4 (thesis §6.4, step 3): a leader serves a read without first
    /// confirming, with a round of heartbeats, that it still leads.
    StaleReads,
}

impl Bug {
    /// Every switch, in the order `--list-bugs` prints them.
    pub const ALL: [Bug; 10] = [
        Bug::CommitOldTerm,
        Bug::VoteBeforeDurable,
        Bug::AcceptStaleTerm,
        Bug::KeepConflictingSuffix,
        Bug::VoteForStaleLog,
        Bug::TwoConfigChanges,
        Bug::NoVoteLease,
        Bug::UncappedFollowerCommit,
        Bug::IgnoreHigherTermReply,
        Bug::StaleReads,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Bug::CommitOldTerm => "commit-old-term",
            Bug::VoteBeforeDurable => "vote-before-durable",
            Bug::AcceptStaleTerm => "accept-stale-term",
            Bug::KeepConflictingSuffix => "keep-conflicting-suffix",
            Bug::VoteForStaleLog => "vote-for-stale-log",
            Bug::TwoConfigChanges => "two-config-changes",
            Bug::NoVoteLease => "no-vote-lease",
            Bug::UncappedFollowerCommit => "uncapped-follower-commit",
            Bug::IgnoreHigherTermReply => "ignore-higher-term-reply",
            Bug::StaleReads => "stale-reads",
        }
    }

    /// The rule it breaks, with its section, in plain words.
    pub fn rule(self) -> &'static str {
        match self {
            Bug::CommitOldTerm => {
                "§5.4.2, Figure 8: only entries of the leader's current term commit by counting replicas"
            }
            Bug::VoteBeforeDurable => {
                "Figure 2: a vote is on stable storage before the reply leaves"
            }
            Bug::AcceptStaleTerm => "§5.1: a request with a stale term is rejected",
            Bug::KeepConflictingSuffix => {
                "§5.3: a conflicting entry and all that follow it are deleted"
            }
            Bug::VoteForStaleLog => {
                "§5.4.1: no vote for a candidate whose log is less up to date"
            }
            Bug::TwoConfigChanges => "thesis §4.1: one configuration change at a time",
            Bug::NoVoteLease => {
                "thesis §4.2.3: no vote (or new term) while hearing from a current leader"
            }
            Bug::UncappedFollowerCommit => {
                "Figure 2: commitIndex = min(leaderCommit, index of last new entry)"
            }
            Bug::IgnoreHigherTermReply => {
                "§5.1: a reply with a higher term makes the leader step down"
            }
            Bug::StaleReads => {
                "§6.4: a leader confirms it still leads before serving a read"
            }
        }
    }

    pub fn from_name(name: &str) -> Result<Bug, String> {
        Bug::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| {
                format!("there is no bug switch \"{name}\" (raftchat-sim --list-bugs lists them)")
            })
    }
}

/// A set of switches; empty unless a simulation asks. Written as a list of
/// names (`["commit-old-term"]`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BugSet(u16);

impl BugSet {
    pub const NONE: BugSet = BugSet(0);

    /// The switches a configuration starts with: none — except in builds with
    /// the `bug-env` feature (`make bugs` only), where `RAFTCHAT_BUG` (names,
    /// comma-separated) turns them on for every cluster a test builds, so
    /// that the whole suite runs with a rule broken.
    pub fn initial() -> BugSet {
        #[cfg(feature = "bug-env")]
        if let Ok(names) = std::env::var("RAFTCHAT_BUG") {
            return names
                .split(',')
                .map(|n| Bug::from_name(n.trim()).expect("RAFTCHAT_BUG names bug switches"))
                .fold(BugSet::NONE, BugSet::with);
        }
        BugSet::NONE
    }

    pub fn only(bug: Bug) -> BugSet {
        BugSet::NONE.with(bug)
    }

    pub fn with(self, bug: Bug) -> BugSet {
        BugSet(self.0 | 1 << bug as u16)
    }

    /// Whether `bug` is switched on. (The checks sit where each rule is
    /// enforced: a single bit test.)
    #[inline]
    pub fn has(self, bug: Bug) -> bool {
        self.0 & (1 << bug as u16) != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Bug> {
        Bug::ALL.into_iter().filter(move |&b| self.has(b))
    }
}

impl std::fmt::Display for BugSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.iter().map(Bug::name).collect();
        f.write_str(&names.join(", "))
    }
}

impl Serialize for BugSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for BugSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bugs = Vec::<Bug>::deserialize(d)?;
        Ok(bugs.into_iter().fold(BugSet::NONE, BugSet::with))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_a_set_reads_back_from_its_json() {
        for b in Bug::ALL {
            assert_eq!(Bug::from_name(b.name()), Ok(b));
            let json = serde_json::to_string(&b).unwrap();
            assert_eq!(json, format!("\"{}\"", b.name()));
        }
        let set = BugSet::only(Bug::StaleReads).with(Bug::CommitOldTerm);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["commit-old-term","stale-reads"]"#);
        assert_eq!(serde_json::from_str::<BugSet>(&json).unwrap(), set);
        assert!(Bug::from_name("figure-9")
            .unwrap_err()
            .contains("--list-bugs"));
        assert!(BugSet::NONE.iter().next().is_none());
    }
}
