#!/usr/bin/env bash
# Introduces each of eight classic Raft bugs into core/src/raft.rs, one at a time,
# runs the core's test suite, and reports which tests fail. Each bug must make at
# least one test fail; the source is restored after each run (and on exit).
# Usage: scripts/classic-bugs.sh   (or: make bugs)
set -u
cd "$(dirname "$0")/.."
src=core/src/raft.rs
backup=$(mktemp)
cp "$src" "$backup"
trap 'cp "$backup" "$src"; rm -f "$backup"' EXIT

# name | perl substitution (applied with -0pi to the whole file)
bugs=(
  "figure-8: commit an earlier-term entry by counting replicas|s/if n > self.commit_index && self.log.term\(n\) == Some\(self.term\) \{/if n > self.commit_index {/"
  "vote granted without persisting it|s/(self.voted_for = Some\(candidate\);)\n\s*self.mark_hard_state\(\);/\1/"
  "AppendEntries from a stale term accepted|s/\} else if msg.term < self.term && !forward \{/} else if msg.term < self.term \&\& !forward \&\& !matches!(msg.body, MessageBody::AppendEntries { .. }) {/"
  "conflicting suffix not truncated|s/Some\(_\) => \{\n\s*self.truncate_from\(entry.index\);\n\s*self.push\(entry\);\n\s*\}/Some(_) => continue,/"
  "vote for a candidate whose log is less up to date|s/let granted = free && self.log.is_up_to_date\(last_log_index, last_log_term\);/let granted = free;/"
  "two configuration changes uncommitted at once|s/if i > self.commit_index \{\n(\s*)return Err/if false {\n\1return Err/"
  "a removed server may depose the leader (no §4.2.3 lease)|s/if vote_request && msg.term > self.term && self.in_lease\(\) \{/if vote_request \&\& msg.term > self.term \&\& self.in_lease() \&\& false {/"
  "a snapshot claims one entry more than it holds|s/meta: snap.meta.clone\(\),\n(\s*)offset,/meta: SnapshotMeta { index: snap.meta.index + 1, ..snap.meta.clone() },\n\1offset,/"
)

status=0
for bug in "${bugs[@]}"; do
  name=${bug%%|*}
  subst=${bug#*|}
  cp "$backup" "$src"
  perl -0pi -e "$subst" "$src"
  if cmp -s "$backup" "$src"; then
    echo "!! $name: the mutation did not apply (the code changed?)"
    status=1
    continue
  fi
  out=$(cargo test --release -p raftchat-core --no-fail-fast 2>&1)
  failed=$(printf '%s\n' "$out" | sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' | sort -u)
  if [ -z "$failed" ]; then
    if printf '%s\n' "$out" | grep -q '^error'; then
      echo "!! $name: the mutated code does not compile"
    else
      echo "!! $name: NOT CAUGHT by any test"
    fi
    status=1
  else
    echo "== $name: caught by"
    printf '%s\n' "$failed" | sed 's/^/     /'
  fi
done
exit $status
