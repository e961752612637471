#!/usr/bin/python3
"""Search-efficiency benchmark: Sweep's samplers (with and without pruning) against Optuna on one objective.

The objective is real training: `./sweep train` of an fc net on CIFAR-10, up to 9 epochs on the first 10,000
training images, scored by the best val accuracy on the 1,000 held-out images. Every method gets the same budget in
trial-epochs (epochs actually trained, summed over trials) and is run with several seeds. Output (in --out):
  runs/<method>-s<seed>.json  every trial of one run: epochs trained and best val accuracy, in the order they ended
                              (a Sweep trial that paused at rungs has an entry per rung's run)
  journals/<method>-s<seed>.db  each Sweep run's journal, for ./sweep report
  summary.md                  the table: median and IQR of the best val accuracy at the end of the budget, the
                              trial-epochs each method needs to reach the target, and exact two-sided permutation
                              tests of the best Sweep method against each Optuna method
  curves.png                  best val accuracy against cumulative trial-epochs, median and IQR over seeds

Usage (the full run takes hours on a 2-core machine; --budget and --seeds scale it down):
  bench/search-efficiency/search_efficiency.py --data ../shared/data/cifar-10-batches-bin --out runs/search-efficiency
  bench/search-efficiency/search_efficiency.py --summarize-only --out runs/search-efficiency
Debian's python3-optuna (and python3-matplotlib for the plot) are installed with apt-get when missing.
"""

import argparse
import itertools
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SWEEP = REPO / "sweep"
EPOCHS = 9
NUM_TRAIN = 10_000

# The search space of the issue: 3 choices, 4 ranges. Sweep reads it as HOCON, Optuna through suggest_*.
HIDDEN_DIMS = [[100], [500, 500], [1000, 500, 250]]
NORMALIZATIONS = ["none", "batchnorm"]
UPDATE_RULES = ["sgd_momentum", "rmsprop", "adam"]
RANGES = {  # name: (low, high, log)
    "dropout": (0.0, 0.5, False),
    "learning_rate": (1e-5, 1e-1, True),
    "weight_scale": (1e-4, 1.0, True),
    "reg": (1e-6, 1e-1, True),
}

SWEEP_METHODS = ["sweep-random", "sweep-coarse_to_fine", "sweep-tpe",
                 "sweep-random+median", "sweep-coarse_to_fine+median", "sweep-tpe+median",
                 "sweep-random+sh", "sweep-coarse_to_fine+sh", "sweep-tpe+sh", "sweep-random+asha", "sweep-tpe-eager+asha"]
# Each Sweep pruning rule as its spec block; successive halving and ASHA pause trials at epochs 1 and 3 (η = 3).
PRUNING_BLOCKS = {
    "": "",
    "median": "pruning { rule = median, min_epochs = 1, min_peers = 3 }\n",
    "sh": "pruning { rule = successive_halving, min_epochs = 1, reduction_factor = 3 }\n",
    "asha": "pruning { rule = asha, min_epochs = 1, reduction_factor = 3 }\n",
}
REDUCTION_FACTOR = 3
OPTUNA_METHODS = ["optuna-random", "optuna-tpe", "optuna-tpe+hyperband"]
EPOCH_LINE = re.compile(r"^\(Epoch (\d+) / \d+\) train acc: [0-9.]+; val_acc: ([0-9.]+)")


def ensure_debian_packages():
    """Installs python3-optuna and python3-matplotlib from Debian when this interpreter cannot import them."""
    missing = []
    for module, package in (("optuna", "python3-optuna"), ("matplotlib", "python3-matplotlib")):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        print(f"installing {' '.join(missing)} with apt-get", file=sys.stderr)
        # A fresh machine's package lists may be empty: update them once if the first try cannot find the packages.
        if subprocess.run(["apt-get", "install", "-y", "-qq", *missing]).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True)


# ---------------------------------------------------------------- Sweep


def space_hocon():
    dims = "[" + ", ".join("[" + ", ".join(map(str, d)) + "]" for d in HIDDEN_DIMS) + "]"
    lines = [
        f"  hidden_dims {{ type = choice, values = {dims} }}",
        f"  normalization {{ type = choice, values = [{', '.join(NORMALIZATIONS)}] }}",
        f"  update_rule {{ type = choice, values = [{', '.join(UPDATE_RULES)}] }}",
    ]
    for name, (low, high, log) in RANGES.items():
        lines.append(f"  {name} {{ type = float, low = {low!r}, high = {high!r}, log = {'true' if log else 'false'} }}")
    return "space {\n" + "\n".join(lines) + "\n}\n"


def halving_cost(trials):
    """Trial-epochs one successive-halving stage of `trials` spends when nothing diverges: rungs 1, 3, ... below EPOCHS."""
    rungs = [r for r in (REDUCTION_FACTOR ** k for k in range(10)) if r < EPOCHS]
    cost, alive, trained = 0, trials, 0
    for rung in rungs:
        cost += alive * (rung - trained)
        trained, alive = rung, max(1, alive // REDUCTION_FACTOR)
    return cost + alive * (EPOCHS - trained)


def halving_trials(budget):
    """The most trials a successive-halving stage can start within `budget` trial-epochs."""
    n = 1
    while halving_cost(n + 1) <= budget:
        n += 1
    return n


def sweep_stages(sampler, budget, rule):
    """
    Stages spending about `budget` trial-epochs. Median pruning gets 1.5x as many trials (its curve is cut at the budget);
    successive halving and ASHA get as many as a halving stage can start within its share of the budget.
    """
    if rule in ("sh", "asha"):
        if sampler == "tpe-eager":
            # One stage, TPE asked once per free slot with every result in so far (paused trials included).
            return [f"{{ count = {halving_trials(budget)}, epochs = {EPOCHS}, num_train = {NUM_TRAIN} }}"], \
                "tpe { n_startup_trials = 10 }\nstage_start = eager\n"
        if sampler == "random":
            return [f"{{ count = {halving_trials(budget)}, epochs = {EPOCHS}, num_train = {NUM_TRAIN} }}"], ""
        if sampler == "tpe":
            share = halving_trials(budget // 3)
            stages = [f"{{ count = {share}, epochs = {EPOCHS}, num_train = {NUM_TRAIN} }}"] * 3
            return stages, f"tpe {{ n_startup_trials = {share} }}\n"
        # coarse_to_fine: two thirds of the budget on the whole space, one third around the top 4.
        first, second = halving_trials(budget * 2 // 3), halving_trials(budget // 3)
        return [f"{{ count = {first}, epochs = {EPOCHS}, num_train = {NUM_TRAIN} }}",
                f"{{ count = {max(1, second - 1)}, epochs = {EPOCHS}, num_train = {NUM_TRAIN}, top_k = 4, carry_over = 1, margin = 0.1 }}"], ""
    scale = 1.5 if rule == "median" else 1.0
    full = max(1, round(budget * scale / EPOCHS))
    if sampler == "random":
        return [f"{{ count = {full}, epochs = {EPOCHS}, num_train = {NUM_TRAIN} }}"], ""
    if sampler == "tpe":
        later = max(1, full // 3)
        first = max(1, full - 2 * later)
        stages = [f"{{ count = {n}, epochs = {EPOCHS}, num_train = {NUM_TRAIN} }}" for n in (first, later, later)]
        return stages, f"tpe {{ n_startup_trials = {first} }}\n"
    # coarse_to_fine: half the budget on 3-epoch trials of the whole space, half on full trials around the top 4.
    short = max(1, round(budget * scale / 2 / 3))
    long = max(2, round(budget * scale / 2 / EPOCHS))
    return [f"{{ count = {short}, epochs = 3, num_train = {NUM_TRAIN} }}",
            f"{{ count = {long - 1}, epochs = {EPOCHS}, num_train = {NUM_TRAIN}, top_k = 4, carry_over = 1, margin = 0.1 }}"], ""


def run_sweep(method, seed, budget, data, run_dir):
    base = method.removeprefix("sweep-")
    sampler, _, rule = base.partition("+")
    stages, extra = sweep_stages(sampler, budget, rule)
    spec = run_dir / f"{method}-s{seed}.conf"
    spec.write_text(
        f"name = bench-{sampler}\nseed = {seed}\n"
        f"data {{ directory = {json.dumps(str(Path(data).resolve()))} }}\n"
        f"model {{ family = fc }}\n{space_hocon()}"
        f"sampler = {sampler.removesuffix('-eager')}\n{extra}"
        + PRUNING_BLOCKS[rule]
        + "stages = [\n  " + "\n  ".join(stages) + "\n]\n")
    journal = run_dir / f"{method}-s{seed}.db"
    for stale in run_dir.glob(f"{method}-s{seed}.db*"):
        stale.unlink()
    subprocess.run([str(SWEEP), "run", str(spec), "--local-workers", "1", "--journal", str(journal), "--data", str(data)],
                   check=True, stdout=subprocess.DEVNULL, cwd=REPO)
    runs = journal_runs(journal)
    # The journal stays for reports (journals/ beside runs/); the run's checkpoints go now, they take gigabytes.
    kept = run_dir.parent / "journals"
    kept.mkdir(exist_ok=True)
    shutil.copy(journal, kept / journal.name)
    shutil.rmtree(run_dir / f"{method}-s{seed}.checkpoint-store", ignore_errors=True)
    return runs


def journal_runs(journal):
    """
    Every run of a Sweep journal in the order runs ended: the epochs it trained (its epoch reports after epoch 0, so a
    resumed run counts only what it added, and work lost to a re-queue still counts) and the best val accuracy it
    reported. A trial that paused at rungs has one run per rung, so its epochs count when they were spent, not when the
    trial finished: the same rule as an Optuna trial, which is one run.
    """
    import sqlite3
    connection = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    runs, current = [], {}
    ends = {"trial-paused": "paused", "trial-completed": None, "trial-pruned": "pruned", "trial-failed": "failed", "trial-requeued": "requeued"}
    for manifest, message in connection.execute("SELECT manifest, message FROM journal ORDER BY ordering"):
        if manifest not in ends and manifest not in ("trial-dispatched", "trial-epoch-reported"):
            continue
        event = json.loads(message)
        trial = event["trial_id"]
        if manifest == "trial-dispatched":
            current[trial] = {"trial": trial, "epochs": 0, "best_val_acc": 0.0}
        elif manifest == "trial-epoch-reported":
            if trial in current and event["epoch"] >= 1:
                current[trial]["epochs"] += 1
                current[trial]["best_val_acc"] = max(current[trial]["best_val_acc"], event["val_acc"])
        elif trial in current:
            run = current.pop(trial)
            run["status"] = ends[manifest] or event["result"]["status"]
            runs.append(run)
    connection.close()
    return runs


# ---------------------------------------------------------------- Optuna


def train_args(params, seed, data):
    args = [str(SWEEP), "train", "--model", "fc", "--epochs", str(EPOCHS), "--num-train", str(NUM_TRAIN),
            "--seed", str(seed), "--data", str(data), "--hidden-dims", "[" + ",".join(map(str, params["hidden_dims"])) + "]",
            "--normalization", params["normalization"], "--update-rule", params["update_rule"]]
    for name in RANGES:
        args += ["--" + name.replace("_", "-"), repr(params[name])]
    return args


def run_optuna(method, seed, budget, data, run_dir):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.RandomSampler(seed=seed) if method == "optuna-random" else optuna.samplers.TPESampler(seed=seed)
    pruner = (optuna.pruners.HyperbandPruner(min_resource=1, max_resource=EPOCHS, reduction_factor=3)
              if method.endswith("+hyperband") else optuna.pruners.NopPruner())
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    trials = []

    def objective(trial):
        params = {
            "hidden_dims": HIDDEN_DIMS[trial.suggest_categorical("hidden_dims", list(range(len(HIDDEN_DIMS))))],
            "normalization": trial.suggest_categorical("normalization", NORMALIZATIONS),
            "update_rule": trial.suggest_categorical("update_rule", UPDATE_RULES),
        }
        for name, (low, high, log) in RANGES.items():
            params[name] = trial.suggest_float(name, low, high, log=log)
        process = subprocess.Popen(train_args(params, seed * 10_000 + trial.number, data), stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True, cwd=REPO, start_new_session=True)
        best, epochs, pruned, diverged = 0.0, 0, False, False
        for line in process.stdout:
            match = EPOCH_LINE.match(line.strip())
            if not match:
                # A run that diverges before its first epoch ends prints no epoch line, only its verdict.
                diverged = diverged or line.startswith("diverged")
                continue
            epochs, value = int(match.group(1)), float(match.group(2))
            best = max(best, value)
            trial.report(value, epochs)
            if trial.should_prune():
                pruned = True
                os.killpg(process.pid, signal.SIGKILL)
                break
        process.wait()
        status = "pruned" if pruned else "completed" if epochs == EPOCHS else "diverged" if diverged else "failed"
        trials.append({"trial": trial.number, "status": status, "epochs": epochs, "best_val_acc": best})
        if pruned:
            raise optuna.TrialPruned()
        return best

    while sum(t["epochs"] for t in trials) < budget:
        study.optimize(objective, n_trials=1, catch=(Exception,))
        if len(trials) >= 3 and all(t["status"] == "failed" for t in trials[-3:]):
            sys.exit(f"{method}: three trials in a row failed without diverging; check `./sweep train` with --data {data}")
    return trials


# ---------------------------------------------------------------- summary


def curve(trials, budget):
    """Best val accuracy after each trial-epoch 0..budget (a run counts once it ended: an Optuna trial, or a Sweep run)."""
    points, spent, best = [0.0] * (budget + 1), 0, 0.0
    for t in trials:
        spent += t["epochs"]
        if spent > budget:
            break
        best = max(best, t["best_val_acc"])
        points[spent] = best
    for i in range(1, budget + 1):
        points[i] = max(points[i], points[i - 1])
    return points


def quartiles(values):
    q = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else [values[0]] * 3
    return q[0], statistics.median(values), q[2]


def epochs_to_reach(points, target):
    return next((i for i, v in enumerate(points) if v >= target), math.inf)


def permutation_p(a, b):
    """Exact two-sided permutation test of the difference in means (all splits of the pooled values)."""
    pooled, n = a + b, len(a)
    observed = abs(statistics.mean(a) - statistics.mean(b))
    splits = list(itertools.combinations(range(len(pooled)), n))
    extreme = sum(1 for idx in splits
                  if abs(statistics.mean([pooled[i] for i in idx]) - statistics.mean([pooled[i] for i in range(len(pooled)) if i not in idx])) >= observed - 1e-12)
    return extreme / len(splits)


def summarize(out, budget):
    runs = {}
    for file in sorted((out / "runs").glob("*.json")):
        record = json.loads(file.read_text())
        runs.setdefault(record["method"], []).append(curve(record["trials"], budget))
    if not runs:
        sys.exit(f"no runs in {out / 'runs'}; run the benchmark first")
    finals = {m: [c[-1] for c in cs] for m, cs in runs.items()}
    randoms = [v for m in ("sweep-random", "optuna-random") for v in finals.get(m, [])]
    # About half the random-search runs reach the target within the budget.
    target = statistics.median(randoms) if randoms else statistics.median(v for vs in finals.values() for v in vs)
    lines = [f"budget {budget} trial-epochs; target val accuracy {target:.4f} (median final best of the random-search runs)", "",
             "| method | seeds | final best: median [IQR] | trial-epochs to target: median (runs reaching it) |", "|---|---|---|---|"]
    reach = {}
    for method, curves in sorted(runs.items()):
        q1, med, q3 = quartiles(finals[method])
        needed = [epochs_to_reach(c, target) for c in curves]
        reach[method] = statistics.median(needed)
        shown = "not reached" if math.isinf(reach[method]) else f"{reach[method]:.0f}"
        lines.append(f"| {method} | {len(curves)} | {med:.4f} [{q1:.4f}, {q3:.4f}] | {shown} ({sum(not math.isinf(n) for n in needed)}/{len(needed)}) |")
    sweeps = [m for m in runs if m.startswith("sweep-")]
    if sweeps:
        best = min(sweeps, key=lambda m: (reach[m], -statistics.median(finals[m])))
        lines += ["", f"best Sweep method: {best}"]
        for other in (m for m in OPTUNA_METHODS if m in runs):
            ratio = ("neither reaches the target" if math.isinf(reach[best]) and math.isinf(reach[other])
                     else f"{other} does not reach the target" if math.isinf(reach[other])
                     else f"trial-epochs to target ratio {reach[best] / reach[other]:.2f}")
            lines.append(f"- vs {other}: {ratio}; final best median {statistics.median(finals[best]):.4f} vs "
                         f"{statistics.median(finals[other]):.4f}, permutation p = {permutation_p(finals[best], finals[other]):.3f}")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing: no plot", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(9, 5.5))
    xs = list(range(budget + 1))
    for method, curves in sorted(runs.items()):
        bands = [quartiles([c[i] for c in curves]) for i in xs]
        line, = ax.plot(xs, [b[1] for b in bands], label=method, linestyle="-" if method.startswith("sweep") else "--")
        ax.fill_between(xs, [b[0] for b in bands], [b[2] for b in bands], color=line.get_color(), alpha=0.12)
    ax.axhline(target, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("cumulative trial-epochs")
    ax.set_ylabel("best val accuracy (median, IQR over seeds)")
    ax.set_ylim(bottom=0.1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=120)
    print(f"plot: {out / 'curves.png'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("SWEEP_DATA", ""), help="CIFAR-10 folder (default $SWEEP_DATA)")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "search-efficiency")
    parser.add_argument("--budget", type=int, default=270, help="trial-epochs per run (default 270 = 30 full trials)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs of a full trial (default 9; lower only for a smoke run)")
    parser.add_argument("--methods", default=",".join(SWEEP_METHODS + OPTUNA_METHODS))
    parser.add_argument("--summarize-only", action="store_true")
    parser.add_argument("--rerun", action="store_true", help="measure runs again that --out already holds")
    args = parser.parse_args()
    out = args.out.resolve()
    globals()["EPOCHS"] = args.epochs
    (out / "runs").mkdir(parents=True, exist_ok=True)
    if not args.summarize_only:
        if not args.data or not Path(args.data).is_dir():
            sys.exit("search_efficiency: pass --data FOLDER (CIFAR-10 binary batches) or set SWEEP_DATA")
        methods = [m for m in args.methods.split(",") if m]
        unknown = [m for m in methods if m not in SWEEP_METHODS + OPTUNA_METHODS]
        if unknown:
            sys.exit(f"search_efficiency: unknown method(s) {', '.join(unknown)}; allowed: {', '.join(SWEEP_METHODS + OPTUNA_METHODS)}")
        if any(m.startswith("optuna") for m in methods):
            ensure_debian_packages()
        scratch = out / "scratch"
        scratch.mkdir(exist_ok=True)
        for seed, method in itertools.product(range(1, args.seeds + 1), methods):
            # A finished run is kept: the whole benchmark takes longer than a working day on a small machine, so an
            # interrupted invocation picks up where it stopped (--rerun measures everything again).
            done = out / "runs" / f"{method}-s{seed}.json"
            if not args.rerun and done.is_file():
                kept = json.loads(done.read_text())
                if kept.get("budget") == args.budget and kept.get("epochs", EPOCHS) == EPOCHS:
                    print(f"{method} seed {seed}: kept from {done.name}", flush=True)
                    continue
            started = time.monotonic()
            runner = run_sweep if method.startswith("sweep-") else run_optuna
            trials = runner(method, seed, args.budget, args.data, scratch)
            record = {"method": method, "seed": seed, "budget": args.budget, "epochs": EPOCHS,
                      "seconds": time.monotonic() - started, "trials": trials}
            (out / "runs" / f"{method}-s{seed}.json").write_text(json.dumps(record, indent=1))
            print(f"{method} seed {seed}: {len(trials)} trials, {sum(t['epochs'] for t in trials)} trial-epochs, "
                  f"best {max((t['best_val_acc'] for t in trials), default=0):.4f}, {record['seconds']:.0f} s", flush=True)
        shutil.rmtree(scratch, ignore_errors=True)
    summarize(out, args.budget)


if __name__ == "__main__":
    main()
