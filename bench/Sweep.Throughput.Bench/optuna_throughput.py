#!/usr/bin/python3
"""Optuna's side of bench/Sweep.Throughput.Bench: the same synthetic trials against Optuna with SQLite storage.

Each trial suggests two floats, then per epoch sleeps EPOCH_SECONDS and reports a value (trial.report, one storage
write), and returns; n_jobs threads run trials in parallel, as `study.optimize(n_jobs=...)` does on one machine.
Prints one JSON line: completed trials, epochs, wall seconds from the moment every thread started to the end.
  optuna_throughput.py TRIALS EPOCHS EPOCH_SECONDS N_JOBS
"""
import json
import os
import sys
import tempfile
import threading
import time

import optuna


def main():
    trials, epochs, epoch_seconds, n_jobs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder = tempfile.mkdtemp(prefix="optuna-throughput-")
    storage = f"sqlite:///{os.path.join(folder, 'study.db')}"
    study = optuna.create_study(storage=storage, direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    # Every thread starts its first trial at the same moment, as the Sweep side's slots do.
    released = []
    barrier = threading.Barrier(n_jobs, action=lambda: released.append(time.monotonic()))
    started = threading.local()

    def objective(trial):
        if not getattr(started, "done", False):
            started.done = True
            barrier.wait()
        trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        trial.suggest_float("weight_scale", 1e-3, 1e-1, log=True)
        value = 0.0
        for epoch in range(1, epochs + 1):
            if epoch_seconds > 0:
                time.sleep(epoch_seconds)
            value = 0.1 + trial.number % 997 / 2000 + epoch / 100
            trial.report(value, epoch)
        return value

    study.optimize(objective, n_trials=trials, n_jobs=n_jobs)
    wall = time.monotonic() - released[0]
    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    print(json.dumps({"trials": len(done), "epochs": epochs, "wall": wall}))


if __name__ == "__main__":
    main()
