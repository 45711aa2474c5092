"""Lottery tickets: the stated sparsity, masks fixed while training, survivors rewound."""

from __future__ import annotations

import pytest
import torch
from hybrid.neural.compress import find_lottery_ticket, make_permanent, masks
from torch import nn

pytestmark = pytest.mark.usefixtures("one_torch_thread")

X = torch.randn(128, 6, generator=torch.Generator().manual_seed(0))
Y = (X[:, :2].sum(1, keepdim=True)).tanh()


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 1))


def _train(model, steps=25, log=None):
    entry = masks(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(X), Y).backward()
        opt.step()
    if log is not None:
        log.append((entry, masks(model), [m.weight.detach().clone() for m in model if isinstance(m, nn.Linear)]))


def _remaining(n: int, amount: float, rounds: int) -> int:
    for _ in range(rounds):
        n -= round(amount * n)
    return n


def test_the_ticket_has_the_stated_sparsity_and_fixed_masks():
    model = _model()
    log = []
    ticket = find_lottery_ticket(model, lambda m: _train(m, log=log), rounds=3, amount=0.4)
    n = 6 * 32 + 32
    kept = _remaining(n, 0.4, 3)
    assert sum(int(m.sum()) for m in ticket.masks.values()) == kept
    assert ticket.sparsity == pytest.approx(1 - kept / n)
    assert ticket.sparsity_per_round == pytest.approx([1 - _remaining(n, 0.4, r) / n for r in (1, 2, 3)])
    assert len(log) == 4  # three rounds and the retraining
    entry, exit_, weights = log[-1]
    assert entry.keys() == exit_.keys() == ticket.masks.keys()
    for name, w in zip(["0.weight", "2.weight"], weights, strict=True):
        assert torch.equal(entry[name], exit_[name])
        assert torch.all(w[~ticket.masks[name]] == 0)  # training never revived a pruned weight


def test_survivors_are_rewound_to_the_initialisation_or_to_iteration_k():
    model = _model()
    ticket = find_lottery_ticket(model, _train, rounds=2, amount=0.5, retrain=False)
    for i, name in ((0, "0.weight"), (2, "2.weight")):
        assert torch.equal(ticket.model[i].weight, model[i].weight * ticket.masks[name])
    rewound = {}

    def first_k(m):
        _train(m, steps=3)
        rewound.update({k: v.clone() for k, v in m.state_dict().items()})

    ticket = find_lottery_ticket(model, _train, rounds=1, amount=0.5, rewind_fn=first_k, retrain=False)
    assert torch.equal(ticket.model[0].weight, rewound["0.weight"] * ticket.masks["0.weight"])
    assert torch.equal(ticket.model[0].bias, rewound["0.bias"])
    assert not torch.equal(rewound["0.bias"], model[0].bias)


def test_the_trained_ticket_fits_and_folds_into_a_plain_model():
    ticket = find_lottery_ticket(_model(), _train, rounds=2, amount=0.5)
    loss = nn.functional.mse_loss(ticket.model(X), Y).item()
    assert loss < nn.functional.mse_loss(torch.zeros_like(Y), Y).item()
    plain = make_permanent(ticket.model)
    assert set(plain.state_dict()) == set(_model().state_dict())
    assert int((plain[0].weight != 0).sum()) <= int(ticket.masks["0.weight"].sum())
