#!/bin/bash
# Grade one assignment on a few machines over SSH, one shard per host at once, then merge.
#
#     deploy/shards/ssh-grade.sh 02_conv2d /shared/conv-fall host1 host2 host3
#
# Host number K (0, 1, ...) runs shard K of N = the number of hosts, in this repository's path
# with its .venv, on a course folder every host sees (NFS). A shard that fails is named; run
# it again alone (`ssh HOST ... grade A --course DIR --shard K/N`), then `merge`.
# The same with GNU parallel:
#     parallel --link ssh {1} "cd $PWD && .venv/bin/python -m autograder grade A \
#         --course DIR --shard {2}/3 --quiet" ::: host1 host2 host3 ::: 0 1 2
# On one machine, xargs alone runs the shards side by side:
#     printf '%s\n' 0 1 2 | xargs -P 3 -I{} .venv/bin/python -m autograder grade A \
#         --course DIR --shard {}/3 --workers 1 --quiet
set -euo pipefail
export ASSIGNMENT="${1:?usage: ssh-grade.sh ASSIGNMENT COURSE_DIR HOST...}"
export COURSE="${2:?usage: ssh-grade.sh ASSIGNMENT COURSE_DIR HOST...}"
shift 2
[ "$#" -gt 0 ] || { echo "name at least one host" >&2; exit 2; }
export SHARDS="$#" REPO="$(cd "$(dirname "$0")/../.." && pwd)"
k=0
for host in "$@"; do printf '%s %s\n' "$k" "$host"; k=$((k + 1)); done |
  xargs -P "$SHARDS" -n 2 sh -c 'ssh "$2" "cd \"$REPO\" && .venv/bin/python -m autograder \
grade \"$ASSIGNMENT\" --course \"$COURSE\" --shard $1/$SHARDS --quiet" \
|| { echo "shard $1/$SHARDS on $2 failed" >&2; exit 255; }' _ || {
    echo "not merged: run the failed shard(s) again, then merge" >&2; exit 1; }
"$REPO/.venv/bin/python" -m autograder merge "$ASSIGNMENT" --course "$COURSE"
