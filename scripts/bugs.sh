#!/usr/bin/env bash
# For each bug switch (`raftchat-sim --list-bugs`), runs the core's whole test
# suite with that rule broken in every cluster the tests build (cargo feature
# `bug-env`, RAFTCHAT_BUG=name) and reports which tests catch it. Each switch
# must be caught by at least one test. Nothing in the source is edited.
# Usage: scripts/bugs.sh   (or: make bugs)
set -u
cd "$(dirname "$0")/.."
features=cli,bug-env
cargo build --release -q -p raftchat-core --features "$features" || exit 1
names=$(cargo run --release -q -p raftchat-core --features "$features" --bin raftchat-sim -- --list-bugs | awk '{print $1}')
status=0
for name in $names; do
  out=$(RAFTCHAT_BUG=$name cargo test --release -p raftchat-core --features "$features" --no-fail-fast 2>&1)
  failed=$(printf '%s\n' "$out" | sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' | sort -u)
  if [ -z "$failed" ]; then
    if printf '%s\n' "$out" | grep -q '^error'; then
      echo "!! $name: the tests do not build"
    else
      echo "!! $name: NOT CAUGHT by any test"
    fi
    status=1
  else
    echo "== $name: caught by $(printf '%s\n' "$failed" | wc -l) test(s)"
    printf '%s\n' "$failed" | sed 's/^/     /'
  fi
done
exit $status
