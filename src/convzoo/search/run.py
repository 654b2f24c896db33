"""A search run: trials stored in an Optuna storage, children trained by the engine.

Each trial asks the strategy for a spec, trains it with `convzoo.train` on the training
split and takes the best accuracy on the seeded validation split as the reward (the
test split is never read during the search). Every trial's spec, reward, parameters,
MACs, time and seed go to an Optuna RDB storage (a SQLite file in the run directory by
default, any SQLAlchemy URL otherwise). At the end the best spec is retrained and
tested once.

Survival and scale-out: before each trial a worker replays every finished trial of the
storage it has not seen into its strategy, so a restarted search (or a second worker)
continues from what all trials taught. Running trials keep a heartbeat; a trial whose
process died (even by SIGKILL) goes stale, is marked failed and its spec runs again.
The budget counts finished trials, so none is lost or repeated.

    run_dir/search.db            the storage (unless --storage says elsewhere)
    run_dir/trials/NNNN/         spec.json, train.log and the engine's run of trial NNNN
    run_dir/strategy-wK.pt       worker K's strategy state (e.g. the controller)
    run_dir/shared.pt            with weight sharing: the shared weights and their optimizer
    run_dir/best.json            the best spec: `convzoo train nas:run_dir/best.json`
    run_dir/rewards.png          reward over trials, with the best so far
    run_dir/final/               the best spec retrained; its summary.json has the test score
    run_dir/results.json         the leaderboard and the final test score
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from convzoo.search.spaces import SPACES, SearchSpace
from convzoo.search.specs import Spec, spec_from_json
from convzoo.search.strategies import STRATEGIES, Strategy, make_strategy, mnas_reward

__all__ = ["SearchConfig", "TrialRecord", "leaderboard", "run_worker", "search"]

STUDY = "convzoo-search"
HEARTBEAT_S = 5  # a running trial writes a heartbeat this often
GRACE_S = 30  # a trial silent this long belongs to a dead process
SHARED_STATE = "shared.pt"  # weight sharing: the shared weights, optimizer, data position


@dataclass
class SearchConfig:
    space: str = "nasnet"
    strategy: str = "reinforce"
    dataset: str = "fashion-mnist"
    trials: int = 20
    child_epochs: int = 1
    max_macs: float | None = None  # children above this are redrawn, never trained
    target_macs: float | None = None  # set: MnasNet reward acc x (MACs/target)^-0.07
    storage: str | None = None  # SQLAlchemy URL; default sqlite in `out`
    workers: int = 1
    out: str = "runs/search"
    seed: int = 0
    val_fraction: float = 0.1
    batch_size: int | None = None
    final_epochs: int | None = None  # retraining the best: default 3 x child_epochs
    threads: int | None = None  # torch threads per worker
    space_options: dict[str, Any] = field(default_factory=dict)
    strategy_options: dict[str, Any] = field(default_factory=dict)
    quick: bool = False
    weight_sharing: bool = False  # ENAS: children train shared weights (convzoo.search.sharing)
    shared_steps: int = 5  # minibatches each child trains the shared weights for

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise ValueError(f"space must be one of {', '.join(SPACES)}, got {self.space!r}")
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )
        for name in ("trials", "child_epochs", "workers", "shared_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.weight_sharing and (self.space != "nasnet" or self.workers != 1):
            raise ValueError(
                "weight sharing searches the nasnet space with one worker (the shared weights "
                f"live in one process); got --space {self.space} --workers {self.workers}"
            )

    @classmethod
    def quick_preset(cls, **changes: Any) -> SearchConfig:
        """Minutes on two cores: 2000 training images, small children, one epoch each."""
        small = {
            "nasnet": {"num_blocks": 3, "cells_per_stage": 1, "filters": 8, "stem_filters": 16},
            "zoph": {"num_layers": 4},
            "anynet": {},
        }
        space = changes.get("space", "nasnet")
        dataset = changes.pop("dataset", "fashion-mnist")
        base = {
            "dataset": dataset if "@" in dataset else f"{dataset}@2000",
            "trials": 6,
            "child_epochs": 1,
            "final_epochs": 2,
            "batch_size": 64,
            "space_options": small.get(space, {}),
            # a short budget: controller steps after 2 children; evolution's population of 5
            # leaves trials to evolve (with the default 20 it would only draw at random)
            "strategy_options": {
                "reinforce": {"batch_size": 2},
                "evolution": {"population": 5, "sample_size": 2},
            }.get(changes.get("strategy", "reinforce"), {}),
            "quick": True,
        }
        return cls(**{**base, **changes})

    def make_space(self) -> SearchSpace:
        return SPACES[self.space](**self.space_options)

    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{Path(self.out).resolve() / 'search.db'}"

    def identity(self) -> dict[str, Any]:
        """What a resumed or joined search must share with the one in the storage."""
        keep = (
            "space",
            "strategy",
            "dataset",
            "child_epochs",
            "max_macs",
            "target_macs",
            "seed",
            "val_fraction",
            "batch_size",
            "space_options",
            "strategy_options",
            "weight_sharing",
            "shared_steps",
        )
        return {k: v for k, v in asdict(self).items() if k in keep}


@dataclass(frozen=True)
class TrialRecord:
    number: int
    spec: Spec
    reward: float
    val_acc: float
    params: int
    macs: int
    seconds: float
    seed: int


# -- the storage -----------------------------------------------------------------------
def _quiet_optuna() -> None:
    """Heartbeats are marked experimental and meant for `optimize`; we use them on purpose."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")


def open_study(cfg: SearchConfig) -> Any:
    import optuna

    _quiet_optuna()
    Path(cfg.out).mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.RDBStorage(
        cfg.storage_url(), heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S
    )
    study = optuna.create_study(
        storage=storage, study_name=STUDY, direction="maximize", load_if_exists=True
    )
    stored = study.user_attrs.get("config")
    if stored is None:
        study.set_user_attr("config", cfg.identity())
    elif stored != json.loads(json.dumps(cfg.identity())):
        changed = sorted(k for k in stored if stored[k] != cfg.identity().get(k))
        raise ValueError(
            f"the storage holds a search with other settings ({', '.join(changed)}); "
            "use the same settings to resume, or another --out/--storage"
        )
    return study


def finished_trials(study: Any) -> list[TrialRecord]:
    from optuna.trial import TrialState

    out = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        a = t.user_attrs
        out.append(
            TrialRecord(
                t.number,
                spec_from_json(a["spec"]),
                t.value,
                a["val_acc"],
                a["params"],
                a["macs"],
                a["seconds"],
                a["seed"],
            )
        )
    return sorted(out, key=lambda r: r.number)


@contextlib.contextmanager
def heartbeat(study: Any, trial: Any) -> Iterator[None]:
    """Tell the storage this trial's process is alive until the block ends."""
    storage, trial_id = study._storage, trial._trial_id
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            storage.record_heartbeat(trial_id)
            stop.wait(HEARTBEAT_S)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _spec_to_rerun(study: Any) -> tuple[Spec, int] | None:
    """The spec of a failed trial (its process died) that no other trial has taken up."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    taken = {t.user_attrs.get("rerun_of") for t in trials}
    alive = {t.user_attrs.get("spec") for t in trials if t.state != TrialState.FAIL}
    for t in trials:
        spec = t.user_attrs.get("spec")
        if t.state == TrialState.FAIL and spec and t.number not in taken and spec not in alive:
            return spec_from_json(spec), t.number
    return None


# -- one child ---------------------------------------------------------------------------
def child_cost(spec: Spec, image: tuple[int, int, int], num_classes: int) -> tuple[int, int]:
    """(parameters, multiply-adds) of the child on one image of the dataset."""
    from convzoo.analysis.summary import summary

    with torch.device("meta"):  # shapes only: no weights to fill
        model = spec.build(num_classes=num_classes, in_channels=image[0])
    info = summary(model, image, rows=False)
    return info.total_params, info.total_macs


def train_child(cfg: SearchConfig, spec_path: Path, run_dir: Path, seed: int) -> float:
    """Best validation top-1 (0..1) of the child; the engine never opens the test split."""
    from convzoo.train.config import TrainConfig
    from convzoo.train.engine import Trainer

    class ChildTrainer(Trainer):
        def _finish(self) -> dict[str, Any]:  # the reward is validation accuracy: no test
            return {"best_val_acc": self.best_acc, "best_epoch": self.best_epoch}

    train_cfg = TrainConfig(
        model=f"nas:{spec_path}",
        dataset=cfg.dataset,
        epochs=cfg.child_epochs,
        seed=seed,
        batch_size=cfg.batch_size,
        val_fraction=cfg.val_fraction,
        out=str(run_dir),
        progress=False,
        tensorboard=False,
        threads=cfg.threads,
        precision="fp32",
        channels_last="off",
        num_workers=0,
    )
    with open(run_dir.parent / "train.log", "w") as log, contextlib.redirect_stdout(log):
        result = ChildTrainer(train_cfg).fit()
    if result.summary is None:
        raise KeyboardInterrupt  # the child was stopped by a signal: stop the search too
    return result.summary["best_val_acc"] / 100.0


def _ask_within_budget(cfg: SearchConfig, strategy: Strategy, image, num_classes):
    """A spec under --max-macs; over-budget draws get reward 0 (the strategy learns)."""
    for _ in range(200):
        spec = strategy.ask()
        params, macs = child_cost(spec, image, num_classes)
        if cfg.max_macs is None or macs <= cfg.max_macs:
            return spec, params, macs
        strategy.tell(spec, 0.0)
    raise ValueError(f"no spec under --max-macs {cfg.max_macs:g} in 200 draws: raise the limit")


# -- a worker ----------------------------------------------------------------------------
def run_worker(cfg: SearchConfig, worker: int = 0, *, stop_after: int | None = None) -> int:
    """Run trials until the storage holds `cfg.trials` finished ones; returns how many ran.

    `stop_after` ends this worker after that many trials (a kill, as tests simulate it).
    """
    import optuna
    from optuna.trial import TrialState

    from convzoo.data import load_dataset

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    study = open_study(cfg)
    data = load_dataset(cfg.dataset)
    image = (data.in_channels, *(data.image_size or (28, 28)))
    strategy = make_strategy(
        cfg.strategy, cfg.make_space(), seed=cfg.seed + 1000 * worker, **cfg.strategy_options
    )
    state_path = out / f"strategy-w{worker}.pt"
    shared = None
    if cfg.weight_sharing:
        from convzoo.search.sharing import SharedWeights

        shared = SharedWeights.for_search(cfg, data, Path(cfg.out) / SHARED_STATE)
    seen: set[int] = set()
    if state_path.is_file():
        state = torch.load(state_path, weights_only=False)
        strategy.load_state_dict(state["strategy"])
        seen = set(state["seen"])
    ran, started = 0, time.perf_counter()
    while stop_after is None or ran < stop_after:
        optuna.storages.fail_stale_trials(study)
        done = finished_trials(study)
        for record in done:  # what this worker has not learned from yet (any worker's)
            if record.number not in seen:
                strategy.tell(record.spec, record.reward)
                seen.add(record.number)
        running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
        if len(done) >= cfg.trials:
            break
        if len(done) + running >= cfg.trials:  # the rest are running: wait until they finish
            time.sleep(HEARTBEAT_S)  # (or go stale, fail, and need a re-run)
            continue
        rerun = _spec_to_rerun(study)
        if rerun is not None:
            spec = rerun[0]
            params, macs = child_cost(spec, image, data.num_classes)
        else:
            spec, params, macs = _ask_within_budget(cfg, strategy, image, data.num_classes)
        trial = study.ask()
        with heartbeat(study, trial):  # from the first moment: a kill leaves a stale trial
            trial.set_user_attr("spec", spec.to_json())
            if rerun is not None:
                trial.set_user_attr("rerun_of", rerun[1])
            record = _run_trial(cfg, study, trial, spec, params, macs, shared)
        strategy.tell(spec, record.reward)
        seen.add(record.number)
        torch.save({"strategy": strategy.state_dict(), "seen": sorted(seen)}, state_path)
        ran += 1
        _progress(cfg, finished_trials(study), record, ran, time.perf_counter() - started, worker)
    return ran


def _run_trial(cfg, study, trial, spec: Spec, params: int, macs: int, shared=None) -> TrialRecord:
    trial_dir = Path(cfg.out) / "trials" / f"{trial.number:04d}"
    trial_dir.mkdir(parents=True, exist_ok=True)
    spec_path = spec.save(trial_dir / "spec.json")
    seed = cfg.seed * 100_000 + trial.number  # each child its own weights and data order
    start = time.perf_counter()
    if shared is None:
        val_acc = train_child(cfg, spec_path, trial_dir / "run", seed)
    else:  # kept before the trial counts: a resumed search never loses a child's training
        val_acc = shared.reward(spec)
        shared.save()
    seconds = time.perf_counter() - start
    reward = val_acc if cfg.target_macs is None else mnas_reward(val_acc, macs, cfg.target_macs)
    attrs = {"val_acc": val_acc, "params": params, "macs": macs, "seconds": seconds, "seed": seed}
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    study.tell(trial, reward)
    return TrialRecord(trial.number, spec, reward, val_acc, params, macs, seconds, seed)


def _progress(
    cfg, done: list[TrialRecord], last: TrialRecord, ran: int, elapsed: float, worker: int
) -> None:
    best = max(r.reward for r in done)
    left = max(cfg.trials - len(done), 0)
    eta = elapsed / ran * left / cfg.workers
    print(
        f"[w{worker}] trials {len(done)}/{cfg.trials}  #{last.number} reward {last.reward:.4f} "
        f"({last.params / 1e3:.0f}k params, {last.macs / 1e6:.1f}M MACs, {last.seconds:.0f}s)  "
        f"best {best:.4f}  ETA {eta / 60:.1f} min",
        flush=True,
    )


# -- the whole search --------------------------------------------------------------------
def _worker_main(cfg: SearchConfig, worker: int) -> None:
    run_worker(cfg, worker)


def search(cfg: SearchConfig, *, retrain: bool = True) -> dict[str, Any]:
    """Run (or resume) the search with `cfg.workers` processes; retrain and test the best."""
    out = Path(cfg.out)
    open_study(cfg)  # creates the storage once, before workers race to
    ctx = multiprocessing.get_context("spawn")
    others = [ctx.Process(target=_worker_main, args=(cfg, k)) for k in range(1, cfg.workers)]
    for p in others:
        p.start()
    try:
        run_worker(cfg, 0)
    finally:
        for p in others:
            p.join()
    failed = [(k, p.exitcode) for k, p in enumerate(others, start=1) if p.exitcode]
    if failed:
        raise RuntimeError(f"search workers failed (worker, exit code): {failed}")
    done = finished_trials(open_study(cfg))
    if not done:
        raise RuntimeError("the search finished no trial")
    best = max(done, key=lambda r: r.reward)
    best.spec.save(out / "best.json")
    plot_rewards(done, out / "rewards.png", title=f"{cfg.strategy} on {cfg.space}")
    results: dict[str, Any] = {
        "config": asdict(cfg),
        "trials": [_row(r) for r in done],
        "best": _row(best),
    }
    if retrain:
        results["final"] = retrain_best(cfg, out / "best.json")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def _row(r: TrialRecord) -> dict[str, Any]:
    return {
        "trial": r.number,
        "reward": r.reward,
        "val_acc": r.val_acc,
        "params": r.params,
        "macs": r.macs,
        "seconds": r.seconds,
        "seed": r.seed,
        "spec": r.spec.to_dict(),
    }


def retrain_best(cfg: SearchConfig, spec_path: Path) -> dict[str, Any]:
    """Train the best spec from scratch and test it: the search's only look at the test set."""
    from convzoo.train.config import TrainConfig
    from convzoo.train.engine import train

    result = train(
        TrainConfig(
            model=f"nas:{spec_path}",
            dataset=cfg.dataset,
            epochs=cfg.final_epochs or 3 * cfg.child_epochs,
            seed=cfg.seed,
            batch_size=cfg.batch_size,
            val_fraction=cfg.val_fraction,
            out=str(Path(cfg.out) / "final"),
            progress=False,
            tensorboard=False,
            threads=cfg.threads,
            num_workers=0,
        )
    )
    if result.summary is None:
        raise KeyboardInterrupt
    keep = ("test_top1", "best_val_acc", "params", "macs", "epochs", "wall_time_s")
    return {k: result.summary[k] for k in keep}


def leaderboard(records: list[TrialRecord], top: int = 10) -> Any:
    from rich.table import Table

    table = Table(title=f"top {min(top, len(records))} of {len(records)} trials")
    for column in ("trial", "reward", "val top-1", "params", "MACs", "time", "seed"):
        table.add_column(column, justify="right")
    for r in sorted(records, key=lambda r: -r.reward)[:top]:
        table.add_row(
            str(r.number),
            f"{r.reward:.4f}",
            f"{100 * r.val_acc:.2f}%",
            f"{r.params:,}",
            f"{r.macs / 1e6:.1f}M",
            f"{r.seconds:.0f}s",
            str(r.seed),
        )
    return table


def plot_rewards(records: list[TrialRecord], path: Path, *, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numbers = [r.number for r in records]
    rewards = [r.reward for r in records]
    best = [max(rewards[: i + 1]) for i in range(len(rewards))]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.scatter(numbers, rewards, s=14, label="trial")
    ax.step(numbers, best, where="post", color="C1", label="best so far")
    ax.set(xlabel="trial", ylabel="reward (validation top-1)", title=title)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
