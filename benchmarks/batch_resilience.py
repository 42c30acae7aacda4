"""`batch` over 20 simulated recordings on a 2-worker LocalCluster, one worker killed mid-run; one JSON line.

Checks: every result finished before the kill is still there, unchanged; the run ends with
a status for every recording; a rerun skips the finished ones and completes the rest.

    python benchmarks/batch_resilience.py [--recordings 20]
"""

import argparse
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

from dask.distributed import Client, LocalCluster

from neuronseg.batch import read_manifest, run_batch
from neuronseg.simulate import simulate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--recordings", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lines = ["path,fs"]
        for i in range(args.recordings):
            simulate(frames=400, shape=(160, 160), cells=30, seed=i).save(tmp / f"rec{i:02d}")
            lines.append(f"rec{i:02d}/movie.tif,7")
        (tmp / "manifest.csv").write_text("\n".join(lines) + "\n")
        recordings = read_manifest(tmp / "manifest.csv")
        out = tmp / "out"
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        result = {}
        runner = threading.Thread(target=lambda: result.update(table=run_batch(recordings, out, cluster.scheduler_address)))
        t0 = time.perf_counter()
        runner.start()
        def finished():
            return [r.name for r in recordings if (out / r.name / "summary.json").exists()]

        while len(finished()) < 3:
            time.sleep(0.1)
        finished_before = {n: (out / n / "summary.json").stat().st_mtime_ns for n in finished()}
        victim = next(iter(client.run(os.getpid).values()))
        os.kill(victim, signal.SIGKILL)  # a worker dies mid-run (its nanny starts a new one)
        runner.join()
        first_seconds = time.perf_counter() - t0
        client.close()
        cluster.close()
        intact = all((out / n / "summary.json").stat().st_mtime_ns == m for n, m in finished_before.items())
        first = [r["status"] for r in result["table"]]
        second = run_batch(recordings, out, workers=2)
        print(json.dumps({
            "recordings": len(recordings), "finished_before_kill": len(finished_before),
            "finished_results_intact": intact,
            "first_run": {s: first.count(s) for s in sorted(set(first))}, "first_run_seconds": round(first_seconds, 1),
            "rerun": {s: [r["status"] for r in second].count(s) for s in sorted({r["status"] for r in second})},
            "all_finished_after_rerun": all((out / r.name / "summary.json").exists() for r in recordings),
        }))


if __name__ == "__main__":
    main()
