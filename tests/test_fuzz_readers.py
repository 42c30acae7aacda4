"""Every reader, fed mutated real-format files, stops cleanly: a complete result (exit 0) or
one `error:` line (exit 2) with nothing written; never a traceback, never a half-written
output, never an allocation past a memory cap. A handful of cases by default, hundreds with
`-m slow`."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz_cases import cases, seed_files

HARNESS = Path(__file__).parent / "fuzz_harness.py"
CAP_MB = 4096   #: address space of the process: imports take ~1 GB of it


def _problems(result: dict) -> list[str]:
    found = []
    lines = [line for line in result["stderr"].splitlines() if line.strip()]
    if result["unexpected"]:
        found.append(f"unexpected exception: {result['unexpected'][-300:]}")
    if "Traceback" in result["stderr"]:
        found.append("a traceback on stderr")
    if result["exit"] not in (0, 2):
        found.append(f"exit status {result['exit']}: {result['stderr'][-200:]}")
    if result["exit"] == 2:
        if len(lines) != 1 or not lines[0].startswith("error: "):
            found.append(f"not one error line: {lines}")
        if result["out_exists"]:
            found.append("an output was written although the command failed")
    if result["exit"] == 0 and result["out_exists"] and not result["complete"]:
        found.append("an incomplete output")
    if result["leftovers"]:
        found.append(f"left behind: {result['leftovers']}")
    return found


def _run(tmp_path, small_recording, n: int, seed: int) -> list[dict]:
    files = seed_files(tmp_path / "seeds", small_recording.movie[:40])
    todo = cases(files, tmp_path / "cases", n, seed)
    (tmp_path / "cases.json").write_text(json.dumps(todo))
    run = subprocess.run([sys.executable, str(HARNESS), str(tmp_path / "cases.json"), str(CAP_MB)],
                         capture_output=True, text=True, timeout=3600, cwd=Path(__file__).parent)
    results = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(todo), run.stderr[-3000:]
    return results


def _report(results) -> dict:
    return {r["name"]: p for r in results if (p := _problems(r))}


def test_a_mutated_file_of_every_kind_stops_cleanly(tmp_path, small_recording):
    results = _run(tmp_path, small_recording, n=11, seed=0)   # one case of each kind
    assert _report(results) == {}
    assert sum(r["exit"] == 2 for r in results) >= 6   # most of these are refused, each in one line


@pytest.mark.slow
def test_hundreds_of_mutated_files_stop_cleanly(tmp_path, small_recording):
    results = _run(tmp_path, small_recording, n=330, seed=1)
    kinds = {}
    for r in results:
        kinds.setdefault(r["name"].split()[1].split(":")[0], []).append(r)
    print(json.dumps({k: {"cases": len(v), "refused": sum(r["exit"] == 2 for r in v),
                          "failed_to_stop_cleanly": sum(bool(_problems(r)) for r in v)} for k, v in kinds.items()}))
    assert _report(results) == {}
