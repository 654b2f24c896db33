"""Search runs: trials in an Optuna storage, resume without repeats, the CLI end to end."""

from __future__ import annotations

import json
import random

import pytest

from convzoo.cli import main
from convzoo.search.run import SearchConfig, finished_trials, open_study, run_worker
from tests.helpers import one_torch_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = "synthetic:channels=1,size=12,classes=3,train=96,test=32"


def _config(tmp_path, strategy: str = "random", trials: int = 3) -> SearchConfig:
    return SearchConfig(
        space="zoph", strategy=strategy, dataset=DATA, trials=trials, child_epochs=1,
        batch_size=32, out=str(tmp_path / "run"), space_options={"num_layers": 2},
        strategy_options={"batch_size": 2} if strategy == "reinforce" else {}, threads=1,
    )  # fmt: skip


def test_a_stopped_search_resumes_without_repeating_a_finished_trial(tmp_path) -> None:
    cfg = _config(tmp_path, "reinforce", trials=3)
    assert run_worker(cfg, stop_after=1) == 1  # the process stops here, as if killed
    first = finished_trials(open_study(cfg))
    assert [r.number for r in first] == [0]
    assert run_worker(cfg) == 2  # the resumed worker runs only what is missing
    done = finished_trials(open_study(cfg))
    assert [r.number for r in done] == [0, 1, 2]
    assert done[0] == first[0]  # the finished trial is kept as it was
    for r in done:
        assert 0.0 <= r.reward <= 1.0 and r.params > 0 and r.macs > 0
    assert run_worker(cfg) == 0  # the budget is met: nothing runs again
    with pytest.raises(ValueError, match="other settings"):
        open_study(SearchConfig(**{**cfg.__dict__, "strategy": "random"}))


def test_a_trial_whose_process_died_runs_again(tmp_path) -> None:
    from optuna.trial import TrialState

    cfg = _config(tmp_path, trials=1)
    study = open_study(cfg)
    spec = cfg.make_space().sample(random.Random(5))
    dead = study.ask()
    dead.set_user_attr("spec", spec.to_json())
    study.tell(dead, state=TrialState.FAIL)  # what a stale heartbeat turns a killed trial into
    assert run_worker(cfg) == 1
    (done,) = finished_trials(open_study(cfg))
    assert done.spec == spec  # the lost trial's spec, not a new draw
    assert open_study(cfg).trials[done.number].user_attrs["rerun_of"] == dead.number


def test_search_cli_runs_trials_and_retrains_the_best(tmp_path, capsys) -> None:
    out = tmp_path / "cli"
    code = main([
        "search", "--space", "zoph", "--strategy", "evolution", "--dataset", DATA,
        "--trials", "2", "--child-epochs", "1", "--final-epochs", "1", "--batch-size", "32",
        "--threads", "1", "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "trials 2/2" in printed and "test top-1" in printed
    results = json.loads((out / "results.json").read_text())
    assert len(results["trials"]) == 2 and "test_top1" in results["final"]
    assert (out / "rewards.png").stat().st_size > 0
    # the best spec is a model name for info
    # --json: stdout is the results, nothing else; the storage already holds the trials
    assert main(["search", "--space", "zoph", "--strategy", "evolution", "--dataset", DATA,
                 "--trials", "2", "--batch-size", "32", "--threads", "1", "--out", str(out),
                 "--no-retrain", "--json"]) == 0  # fmt: skip
    assert len(json.loads(capsys.readouterr().out)["trials"]) == 2
    best = f"nas:{out / 'best.json'}"
    assert main(["info", best, "--input-size", "12", "--num-classes", "3"]) == 0


@pytest.mark.slow
def test_two_workers_share_one_storage_without_losing_or_repeating_trials(tmp_path) -> None:
    from convzoo.search.run import search

    cfg = _config(tmp_path, "tpe", trials=4)
    cfg.workers = 2
    results = search(cfg, retrain=False)
    numbers = [t["trial"] for t in results["trials"]]
    assert numbers == sorted(set(numbers)) and len(numbers) == 4
    # a second worker that started late finds the budget met and exits cleanly (search()
    # raises on a failed worker); each trial ran once either way
    assert {t["spec"]["space"] for t in results["trials"]} == {"zoph"}
