"""Verdict rules on made-up results: a gap inside the noise is never confirmed."""

import pytest

from convzoo.experiments.verdict import (
    CONFIRMED,
    CONTRADICTED,
    NOT_SHOWN,
    AllOf,
    Better,
    FactAtMost,
    FactGreater,
    FactNear,
    NotBetter,
    Stat,
    require_learning,
)


def table(**arms):
    return {arm: {"test_acc": Stat.of(values)} for arm, values in arms.items()}


def test_stat_mean_and_sample_std():
    s = Stat.of([1.0, 2.0, 3.0])
    assert (s.mean, s.std, s.n) == (2.0, 1.0, 3)
    with pytest.raises(ValueError, match="at least one value"):
        Stat.of([])


def test_clear_gap_is_confirmed_and_reversed_gap_contradicted():
    results = table(a=[91.0, 91.2, 90.9], b=[88.0, 88.3, 88.1])
    assert Better("test_acc", "a", "b").judge(results, {}).status == CONFIRMED
    assert Better("test_acc", "b", "a").judge(results, {}).status == CONTRADICTED


def test_gap_inside_the_noise_is_not_shown():
    # means differ by 0.5 but the seeds spread by ~1 point
    results = table(a=[90.0, 91.5, 89.5], b=[89.0, 90.8, 89.7])
    verdict = Better("test_acc", "a", "b").judge(results, {})
    assert verdict.status == NOT_SHOWN
    assert "inside the noise" in verdict.reason


def test_gap_larger_than_std_but_within_two_standard_errors_is_not_shown():
    # gap 1.2 > std 1.0 of each arm, but 2 * sqrt(2/3) * 1.0 = 1.63 > 1.2
    results = table(a=[90.2, 91.2, 92.2], b=[89.0, 90.0, 91.0])
    assert Better("test_acc", "a", "b").judge(results, {}).status == NOT_SHOWN


def test_lower_is_better():
    results = {"deep": {"err": Stat.of([5, 5.1, 5.2])}, "shallow": {"err": Stat.of([8, 8.1, 8])}}
    rule = Better("err", "deep", "shallow", higher_is_better=False)
    assert rule.judge(results, {}).status == CONFIRMED


def test_null_claim_needs_the_noise_below_the_margin():
    tight = table(lrn=[90.0, 90.1, 90.05], plain=[90.1, 90.0, 90.1])
    assert NotBetter("test_acc", "lrn", "plain", margin=0.5).judge(tight, {}).status == CONFIRMED
    noisy = table(lrn=[89.0, 91.0, 90.0], plain=[90.0, 90.2, 89.8])
    assert NotBetter("test_acc", "lrn", "plain", margin=0.5).judge(noisy, {}).status == NOT_SHOWN
    better = table(lrn=[93.0, 93.1, 93.0], plain=[90.0, 90.1, 90.0])
    verdict = NotBetter("test_acc", "lrn", "plain", margin=0.5).judge(better, {})
    assert verdict.status == CONTRADICTED


def test_facts_and_all_of():
    facts = {"ratio": 0.72, "lr_bn": 1.0, "lr_plain": 0.2}
    assert FactNear("ratio", 0.72, 1e-6).judge({}, facts).status == CONFIRMED
    assert FactAtMost("ratio", 0.5).judge({}, facts).status == CONTRADICTED
    assert FactGreater("lr_bn", "lr_plain").judge({}, facts).status == CONFIRMED
    noisy = table(a=[90.0, 91.5, 89.5], b=[89.0, 90.8, 89.7])
    both = AllOf((FactNear("ratio", 0.72, 1e-6), Better("test_acc", "a", "b")))
    assert both.judge(noisy, facts).status == NOT_SHOWN
    broken = AllOf((FactAtMost("ratio", 0.5), Better("test_acc", "a", "b")))
    assert broken.judge(noisy, facts).status == CONTRADICTED


def test_unknown_arm_names_the_known_ones():
    with pytest.raises(KeyError, match="arms: \\['a'\\]"):
        Better("test_acc", "a", "zz").judge(table(a=[1.0, 2.0]), {})


def test_arms_stuck_at_chance_confirm_nothing():
    stuck = {
        arm: {"test_acc": Stat.of([11.1, 11.1, 11.1]), "best_val_acc": Stat.of([10.0] * 3)}
        for arm in ("lrn", "plain")
    }
    rule = NotBetter("test_acc", "lrn", "plain", margin=0.5)
    assert rule.judge(stuck, {}).status == CONFIRMED  # the bare rule is fooled ...
    verdict = require_learning(rule.judge(stuck, {}), rule, stuck, chance=10.0)
    assert verdict.status == NOT_SHOWN and "did not learn" in verdict.reason  # ... not the runner
    assert AllOf((rule, FactNear("r", 1, 0))).arms() == {"lrn", "plain"}
