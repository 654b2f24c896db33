"""Search strategies: ask/tell on fake rewards; REINFORCE learns; state round trips."""

from __future__ import annotations

import pytest

from convzoo.search.networks import NASNET_OPS
from convzoo.search.spaces import NasNetSearchSpace, ZophSearchSpace
from convzoo.search.strategies import STRATEGIES, Reinforce, make_strategy, mnas_reward
from tests.helpers import one_torch_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _fake_reward(spec) -> float:
    """Rewards 3x3 separable convs in the normal cell."""
    ops = [op for block in spec.normal.blocks for op in block.ops]
    return ops.count("sep_conv_3x3") / len(ops)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_ask_tell_and_state_round_trip(name: str) -> None:
    space = NasNetSearchSpace(num_blocks=2)
    kwargs = {"evolution": {"population": 4, "sample_size": 2}}.get(name, {})
    strategy = make_strategy(name, space, seed=1, **kwargs)
    for _ in range(6):
        spec = strategy.ask()
        strategy.tell(spec, _fake_reward(spec))
    copy = make_strategy(name, space, seed=99, **kwargs)
    copy.load_state_dict(strategy.state_dict())
    assert copy.told == strategy.told == 6
    assert copy.ask() == strategy.ask()  # the same state proposes the same next spec


def test_evolution_mutates_the_tournament_winner_and_kills_the_oldest() -> None:
    space = ZophSearchSpace(num_layers=2)
    evo = make_strategy("evolution", space, seed=0, population=3, sample_size=3)
    specs = [evo.ask() for _ in range(3)]
    for reward, spec in enumerate(specs):
        evo.tell(spec, float(reward))
    child = space.encode(evo.ask())
    best = space.encode(specs[2])
    assert sum(a != b for a, b in zip(child, best, strict=True)) == 1
    evo.tell(specs[0], 5.0)
    assert [r for _, r in evo.population] == [1.0, 2.0, 5.0]


def test_reinforce_learns_to_prefer_the_rewarded_op() -> None:
    space = NasNetSearchSpace(num_blocks=1)
    agent = Reinforce(space, seed=0, batch_size=4, lr=0.05, entropy_weight=0.0)
    op = space.decisions.index(next(d for d in space.decisions if d.name == "normal.block0.op0"))
    target = NASNET_OPS.index("sep_conv_3x3")
    before = agent.probabilities()[op][target]
    for _ in range(120):
        spec = agent.ask()
        agent.tell(spec, float(spec.normal.blocks[0].ops[0] == "sep_conv_3x3"))
    after = agent.probabilities()[op][target]
    assert before < 0.15 and after > 0.6, (before, after)


def test_mnas_reward_and_bad_options() -> None:
    assert mnas_reward(0.9, 100.0, 100.0) == pytest.approx(0.9)
    assert mnas_reward(0.9, 200.0, 100.0) < 0.9
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("grid", ZophSearchSpace())
    with pytest.raises(ValueError, match="sample_size"):
        make_strategy("evolution", ZophSearchSpace(), population=2, sample_size=5)
