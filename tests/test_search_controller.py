"""The REINFORCE controller's anchor-point attention (Zoph & Le 2017, Section 3.3)."""

from __future__ import annotations

import io

import pytest
import torch

from convzoo.search.controller import Controller
from convzoo.search.spaces import NasNetSearchSpace, ZophSearchSpace
from convzoo.search.strategies import Reinforce
from tests.helpers import one_torch_thread  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _controller(num_layers: int = 3) -> tuple[ZophSearchSpace, Controller]:
    space = ZophSearchSpace(num_layers=num_layers)
    torch.manual_seed(0)
    return space, Controller(space)


def test_anchor_points_mark_each_layers_inputs() -> None:
    space = ZophSearchSpace(num_layers=3)
    for i, k in enumerate(space.anchor_points):
        names = [d.name for d in space.decisions[k : k + i]]
        assert names == [f"layer{i}.input{j}" for j in range(i)]
    assert NasNetSearchSpace().anchor_points == ()
    assert not hasattr(Controller(NasNetSearchSpace(num_blocks=1)), "v")  # no dead weights


def test_link_probability_is_the_content_based_sigmoid_of_the_hidden_states() -> None:
    _, controller = _controller()
    h_j, h_i, other = torch.randn(3, 35)
    w_prev, w_curr, v = controller.w_prev.weight, controller.w_curr.weight, controller.v.weight
    with torch.no_grad():
        expected = torch.sigmoid(v @ torch.tanh(w_prev @ h_j + w_curr @ h_i))
        logit = controller.link_logit(h_j, h_i)
        assert float(torch.sigmoid(logit)) == pytest.approx(float(expected), rel=1e-6)
        assert float(logit) != float(controller.link_logit(other, h_i))
        assert float(logit) != float(controller.link_logit(h_j, other))


def test_the_same_links_score_differently_after_different_layers() -> None:
    """The anchors' hidden states carry the earlier decisions into the link probabilities."""
    space, controller = _controller()
    link = space.anchor_points[2]  # "layer 0 is an input of layer 2"
    with torch.no_grad():
        base = controller.run(generator=torch.Generator().manual_seed(1)).choices
        changed = list(base)
        changed[0] = (changed[0] + 1) % len(space.decisions[0].options)  # layer 0's height
        p_base = controller.run(base).probs[link][1]
        p_changed = controller.run(changed).probs[link][1]
    assert p_base != pytest.approx(p_changed, abs=1e-7)


def test_gradient_reaches_the_attention() -> None:
    space, controller = _controller()
    choices = [0] * len(space.decisions)
    for layer, start in enumerate(space.anchor_points):
        for j in range(layer):
            choices[start + j] = 1  # every skip connection on: each sigmoid enters log p
    rollout = controller.run(choices)
    (rollout.log_p + rollout.entropy).backward()
    for weight in (controller.w_prev.weight, controller.w_curr.weight, controller.v.weight):
        assert weight.grad is not None and weight.grad.abs().sum() > 0


def test_a_resumed_controller_continues_identically() -> None:
    space = ZophSearchSpace(num_layers=3)

    def reward(spec) -> float:
        return float(0 in spec.layers[2].inputs)

    agent = Reinforce(space, seed=3, batch_size=2, lr=0.01)
    for _ in range(5):  # two steps taken and one child pending
        spec = agent.ask()
        agent.tell(spec, reward(spec))
    buffer = io.BytesIO()
    torch.save(agent.state_dict(), buffer)  # as a search saves it to disk
    buffer.seek(0)
    resumed = Reinforce(space, seed=7, batch_size=2, lr=0.01)
    resumed.load_state_dict(torch.load(buffer, weights_only=False))
    for _ in range(4):
        spec = agent.ask()
        assert resumed.ask() == spec
        agent.tell(spec, reward(spec))
        resumed.tell(spec, reward(spec))
    for a, b in zip(agent.controller.parameters(), resumed.controller.parameters(), strict=True):
        assert torch.equal(a, b)


def test_reinforce_learns_a_rewarded_skip_connection() -> None:
    space = ZophSearchSpace(num_layers=3, search_strides=False)
    agent = Reinforce(space, seed=0, batch_size=4, lr=0.05, entropy_weight=0.0)
    link = space.anchor_points[2]  # layer 0 -> layer 2
    before = agent.probabilities()[link][1]
    for _ in range(80):
        spec = agent.ask()
        agent.tell(spec, float(0 in spec.layers[2].inputs))
    after = agent.probabilities()[link][1]
    assert 0.3 < before < 0.7 and after > 0.9, (before, after)
