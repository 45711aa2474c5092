"""Distillation: the loss is Hinton's, a narrower student approaches its teacher."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hybrid.neural.compress import count_parameters, distill, distillation_loss, narrower_mlp
from torch import nn

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _teacher(out: int) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 128), nn.Tanh(), nn.Linear(128, 128), nn.Tanh(), nn.Linear(128, out))


def test_the_loss_is_hintons_formula():
    gen = torch.Generator().manual_seed(0)
    s, t = torch.randn(6, 4, generator=gen), torch.randn(6, 4, generator=gen)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    T, a = 3.0, 0.7
    p_t = F.softmax(t / T, -1)
    kl = (p_t * (p_t.log() - F.log_softmax(s / T, -1))).sum(-1).mean()
    expected = a * T * T * kl + (1 - a) * F.cross_entropy(s, y)
    assert distillation_loss(s, t, y, temperature=T, alpha=a).item() == pytest.approx(expected.item(), rel=1e-5)
    r = distillation_loss(s, t, s.detach() + 1, task="regression", alpha=0.25)
    assert r.item() == pytest.approx(0.25 * F.mse_loss(s, t).item() + 0.75, rel=1e-5)


def test_narrower_mlp_has_about_k_times_fewer_parameters():
    teacher = _teacher(3)
    for k in (2, 4, 10):
        student = narrower_mlp(teacher, k, generator=torch.Generator().manual_seed(0))
        ratio = count_parameters(teacher) / count_parameters(student)
        assert k <= ratio < 1.3 * k
        assert student(torch.randn(5, 2)).shape == (5, 3)
        assert [type(m) for m in student] == [type(m) for m in teacher]


def test_distillation_makes_a_classifier_student_agree_with_its_teacher():
    teacher = _teacher(3)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(800, 2, generator=gen) * 4 - 2
    with torch.no_grad():
        y = teacher(x).argmax(1)
    student = narrower_mlp(teacher, 8, generator=torch.Generator().manual_seed(1))
    x_test = torch.rand(400, 2, generator=gen) * 4 - 2

    def agreement() -> float:
        with torch.no_grad():
            return (student(x_test).argmax(1) == teacher(x_test).argmax(1)).float().mean().item()

    before = agreement()
    result = distill(student, teacher, (x, y), epochs=150, lr=1e-2, batch_size=800, alpha=0.9, temperature=2.0,
                     val_fraction=0.2, patience=30, generator=gen)
    assert result.student is student
    assert result.train_loss[-1] < result.train_loss[0]
    assert 0 <= result.best_epoch < len(result.val_loss)
    assert agreement() > max(0.9, before)


def test_distillation_of_a_regression_teacher_closes_the_gap():
    teacher = _teacher(1)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(512, 2, generator=gen) * 2 - 1
    with torch.no_grad():
        y = teacher(x) + 0.01 * torch.randn(512, 1, generator=gen)
    student = narrower_mlp(teacher, 6, generator=torch.Generator().manual_seed(1))

    def gap() -> float:
        with torch.no_grad():
            return F.mse_loss(student(x), teacher(x)).item()

    before = gap()
    distill(student, teacher, (x, y), task="regression", epochs=200, lr=1e-2, alpha=0.5, generator=gen)
    assert gap() < 0.1 * before
    assert math.isfinite(gap())


def test_a_dataloader_works_as_data():
    teacher = _teacher(3)
    x = torch.randn(64, 2)
    y = teacher(x).argmax(1).detach()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    result = distill(narrower_mlp(teacher, 4), teacher, loader, epochs=3, val_data=(x, y))
    assert len(result.train_loss) == 3 and len(result.val_loss) == 3
