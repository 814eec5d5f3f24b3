"""The recipes that run shards on the schedulers universities have (deploy/shards/): each one,
run with the variables its scheduler sets, hands `grade` the right --shard K/N."""

import json
import os
import shlex
import stat
import subprocess
from pathlib import Path

import yaml

from autograder.grade import build_parser

ROOT = Path(__file__).resolve().parent.parent
SHARDS = ROOT / "deploy" / "shards"
ARGV_PRINTER = ("#!/bin/sh\nexec python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))'"
                ' "$@"\n')


def executable(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def grade_args(argv):
    """`-m autograder grade ...` as the grader's own parser reads it."""
    assert argv[:3] == ["-m", "autograder", "grade"], argv
    return build_parser().parse_args(argv[3:])


def test_the_kubernetes_indexed_job_wires_the_completion_index_to_shard(tmp_path):
    job = yaml.safe_load((SHARDS / "grade-shards-job.yaml").read_text())
    spec = job["spec"]
    assert job["kind"] == "Job" and spec["completionMode"] == "Indexed"
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert spec["completions"] == spec["parallelism"] == int(env["SHARDS"]["value"])
    assert env["JOB_COMPLETION_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    # the sandbox's security settings are those of the grading pod (deploy/grader-pod.yaml)
    grader = yaml.safe_load((ROOT / "deploy" / "grader-pod.yaml").read_text())["spec"]
    assert container["securityContext"] == grader["containers"][0]["securityContext"]
    assert pod["hostUsers"] is False and pod["restartPolicy"] == "Never"
    # run the container's command as the pod would, with python printing its arguments
    executable(tmp_path / "python", ARGV_PRINTER)
    assert container["command"] == ["sh", "-c"]
    out = subprocess.run(["sh", "-c", *container["args"]], capture_output=True, text=True,
                         env={"PATH": f"{tmp_path}:{os.environ['PATH']}", "SHARDS": "4",
                              "JOB_COMPLETION_INDEX": "3", "ASSIGNMENT": "02_conv2d"},
                         check=True).stdout
    args = grade_args(json.loads(out))
    assert args.shard == (3, 4) and args.assignment == "02_conv2d" and args.course == "/course"


def test_the_slurm_array_script_wires_the_task_id_to_shard(tmp_path):
    script = (SHARDS / "slurm-grade.sh").read_text()
    assert "#SBATCH --job-name" in script and "sbatch --array=0-" in script
    python = executable(tmp_path / "python", ARGV_PRINTER)
    env = dict(os.environ, SLURM_ARRAY_TASK_ID="1", SLURM_ARRAY_TASK_MIN="0",
               SLURM_ARRAY_TASK_MAX="2", SLURM_CPUS_PER_TASK="4", GRADER_PYTHON=str(python))
    out = subprocess.run(["bash", str(SHARDS / "slurm-grade.sh"), "02_conv2d", "/shared/c"],
                         capture_output=True, text=True, env=env, check=True).stdout
    args = grade_args(json.loads(out))
    assert args.shard == (1, 3) and args.workers == 4 and args.course == "/shared/c"


def test_the_ssh_script_runs_shard_k_on_host_k_and_merges_only_when_all_succeed(tmp_path):
    log = tmp_path / "ssh.log"
    executable(tmp_path / "ssh", f"#!/bin/sh\nprintf '%s\\t%s\\n' \"$1\" \"$2\" >> {log}\n"
               "case \"$1\" in fails) exit 1;; esac\n")
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}")

    def run(*hosts):
        log.write_text("")
        done = subprocess.run(["bash", str(SHARDS / "ssh-grade.sh"), "02_conv2d",
                               str(tmp_path / "no-course"), *hosts], capture_output=True,
                              text=True, env=env)
        calls = dict(line.split("\t") for line in log.read_text().splitlines())
        shards = {}
        for host, command in calls.items():
            words = shlex.split(command)
            assert words[:3] == ["cd", str(ROOT), "&&"] and words[3] == ".venv/bin/python"
            shards[host] = grade_args(words[4:]).shard
        return done, shards

    done, shards = run("a", "b", "c")
    assert shards == {"a": (0, 3), "b": (1, 3), "c": (2, 3)}
    assert "no-course" in done.stderr  # then it merged (here: a course folder that is missing)
    done, shards = run("a", "fails")
    assert done.returncode == 1 and "shard 1/2 on fails failed" in done.stderr
    assert "not merged" in done.stderr and "no-course" not in done.stderr
