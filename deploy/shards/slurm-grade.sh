#!/bin/bash
# Grade one assignment on a SLURM cluster: one array task per shard, then one merge.
#
#     sbatch --array=0-7 deploy/shards/slurm-grade.sh 02_conv2d /shared/conv-fall
#     # when the array is done (or chain it: sbatch --dependency=afterok:JOBID ...):
#     .venv/bin/python -m autograder merge 02_conv2d --course /shared/conv-fall
#
# The course folder must be on a file system every node sees (the shards write only their own
# students' files under autograded/ and shards/; the gradebook is written by merge alone).
# The nodes need bubblewrap and user namespaces: run `python -m autograder doctor --course DIR`
# on one of them first (srun --pty ...). A task that fails or is killed writes no shard list;
# `merge` names it, and `sbatch --array=K` runs it again alone.
#SBATCH --job-name=conv-grade
#SBATCH --cpus-per-task=2
#SBATCH --mem=8G
#SBATCH --time=01:00:00
#SBATCH --output=conv-grade-%A_%a.log
set -euo pipefail
assignment="${1:?usage: sbatch --array=0-(N-1) slurm-grade.sh ASSIGNMENT COURSE_DIR}"
course="${2:?usage: sbatch --array=0-(N-1) slurm-grade.sh ASSIGNMENT COURSE_DIR}"
python="${GRADER_PYTHON:-.venv/bin/python}"
count=$(( SLURM_ARRAY_TASK_MAX - SLURM_ARRAY_TASK_MIN + 1 ))
exec "$python" -m autograder grade "$assignment" --course "$course" \
    --shard "${SLURM_ARRAY_TASK_ID}/${count}" --workers "${SLURM_CPUS_PER_TASK:-2}" --quiet
