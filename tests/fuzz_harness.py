"""Run neuronseg commands on (mutated) files in one process under a memory cap.

    python tests/fuzz_harness.py CASES.json CAP_MB

CASES.json is a list of {"name", "args", "out"}; for each case one JSON line is printed:
the exit status, stderr, whether a traceback or an unexpected exception occurred, and what
is left at "out" and beside it. The cap is on the address space (RLIMIT_AS), so a reader
that tries to allocate an absurd array fails here instead of on a user's machine.
"""

from __future__ import annotations

import json
import resource
import sys
import traceback
from pathlib import Path


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if ".partial" in p.name or ".old-" in p.name)


def main(cases_path: str, cap_mb: str) -> None:
    cap = int(float(cap_mb) * 2**20)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from click.testing import CliRunner

    from neuronseg.cli import cli

    runner = CliRunner()
    for case in json.loads(Path(cases_path).read_text()):
        out = Path(case["out"])
        try:
            result = runner.invoke(cli, case["args"])
            stderr, exit_code = result.stderr, result.exit_code
            unexpected = None
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                unexpected = "".join(traceback.format_exception(result.exception))[-2000:]
        except BaseException as exc:   # the harness itself must report, not die
            stderr, exit_code, unexpected = "", -1, repr(exc)
        print(json.dumps({"name": case["name"], "exit": exit_code, "stderr": stderr, "unexpected": unexpected,
                          "out_exists": out.exists(), "complete": (out / ".neuronseg.json").exists() or out.is_file(),
                          "leftovers": _leftovers(out)}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
