"""Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network").

A small student learns from a large teacher's outputs as well as from the labels:

    classification:  loss = alpha * T^2 * KL(softmax(z_t / T) || softmax(z_s / T)) + (1 - alpha) * CE(z_s, y)
    regression:      loss = alpha * MSE(y_s, y_t) + (1 - alpha) * MSE(y_s, y)

(``T^2`` keeps the soft term's gradients on the scale of the hard term's as ``T`` grows.)
:func:`distill` is one full-batch-or-minibatch Adam loop over it, with optional early
stopping on a validation split; :func:`narrower_mlp` builds the student for an MLP.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from hybrid.neural.compress._checks import check_fraction, check_model
from hybrid.neural.device import torch_device
from torch import nn
from tqdm.auto import tqdm

TASKS = ("classification", "regression")
#: ``(inputs, targets)`` tensors or a DataLoader of ``(inputs, targets)`` batches.
Data = tuple[torch.Tensor, torch.Tensor] | torch.utils.data.DataLoader


def distillation_loss(student_out: torch.Tensor, teacher_out: torch.Tensor, target: torch.Tensor | None = None, *,
                      task: str = "classification", temperature: float = 4.0, alpha: float = 0.5) -> torch.Tensor:
    """The distillation loss of a batch (formulas in the module docstring).

    Args:
        student_out: student logits ``(n, classes)`` or predictions ``(n, ...)``.
        teacher_out: the teacher's, same shape.
        target: class indices ``(n,)`` or regression targets; None = teacher only (``alpha`` = 1).
        task: ``"classification"`` or ``"regression"``.
        temperature: ``T > 0`` (classification only).
        alpha: weight in [0, 1] of the teacher term.

    Returns:
        A scalar tensor.
    """
    if task not in TASKS:
        raise ValueError(f"distillation_loss: task must be one of {TASKS}, got {task!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"distillation_loss: alpha must lie in [0, 1], got {alpha!r}")
    if student_out.shape != teacher_out.shape:
        raise ValueError(f"distillation_loss: student output {tuple(student_out.shape)} and teacher output "
                         f"{tuple(teacher_out.shape)} differ in shape")
    if target is None:
        alpha = 1.0
    if task == "classification":
        if not temperature > 0:
            raise ValueError(f"distillation_loss: temperature must be > 0, got {temperature!r}")
        t = float(temperature)
        soft = F.kl_div(F.log_softmax(student_out / t, dim=-1), F.log_softmax(teacher_out / t, dim=-1),
                        log_target=True, reduction="batchmean") * t * t
        hard = F.cross_entropy(student_out, target) if target is not None else soft.new_zeros(())
    else:
        soft = F.mse_loss(student_out, teacher_out)
        hard = F.mse_loss(student_out, target.reshape(student_out.shape)) if target is not None \
            else soft.new_zeros(())
    return alpha * soft + (1.0 - alpha) * hard


@dataclass
class DistillResult:
    """What :func:`distill` returns: the trained student and its loss curves (per epoch)."""

    student: nn.Module
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = -1


def _batches(data, batch_size: int, generator: torch.Generator | None) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
    if isinstance(data, tuple):
        x, y = data
        n = len(x)
        order = torch.randperm(n, generator=generator) if batch_size < n else torch.arange(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            yield x[idx], y[idx]
    else:
        yield from data


def _check_data(data, name: str):
    if data is None:
        return None
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        if len(data[0]) != len(data[1]) or len(data[0]) == 0:
            raise ValueError(f"distill: {name} inputs and targets must have the same, non-zero length")
        return tuple(data)
    if isinstance(data, torch.utils.data.DataLoader):
        return data
    raise ValueError(f"distill: {name} must be a tuple (inputs, targets) of tensors or a DataLoader of "
                     f"(inputs, targets) batches, got {type(data).__name__}")


def distill(student: nn.Module, teacher: nn.Module, data: Data, *, task: str = "classification", epochs: int = 100,
            lr: float = 1e-3, temperature: float = 4.0, alpha: float = 0.5, batch_size: int = 256,
            val_data: Data | None = None, val_fraction: float | None = None, patience: int | None = None,
            generator: torch.Generator | None = None, device: str = "cpu", progress: bool = False) -> DistillResult:
    """Train ``student`` (in place) to match ``teacher`` and the labels with Adam.

    Args:
        student: the model to train.
        teacher: the trained model to learn from (kept frozen, in eval mode).
        data: ``(X, y)`` tensors (shuffled with ``generator`` into minibatches of
            ``batch_size``) or a ``DataLoader`` of ``(x, y)`` batches.
        task: ``"classification"`` (``y`` are class indices) or ``"regression"``.
        epochs: passes over ``data`` at most.
        lr: Adam's learning rate.
        temperature: ``T`` of :func:`distillation_loss`.
        alpha: the teacher term's weight in :func:`distillation_loss`.
        batch_size: minibatch size for tensor data.
        val_data: held-out ``(X, y)`` / DataLoader for early stopping.
        val_fraction: instead of ``val_data``, a fraction in (0, 1) of tensor ``data`` held out
            for it (drawn with ``generator``).
        patience: stop after this many epochs without a better validation loss and
            restore the best weights (None: train all ``epochs``; needs validation data).
        generator: the random generator for shuffling and the split.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        progress: show a tqdm bar over epochs.

    Returns:
        A :class:`DistillResult` (the student, per-epoch train / validation losses, the best epoch).
    """
    method = "distill"
    check_model(student, method)
    check_model(teacher, method)
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"{method}: epochs must be a positive integer, got {epochs!r}")
    if not lr > 0:
        raise ValueError(f"{method}: lr must be > 0, got {lr!r}")
    data = _check_data(data, "data")
    val_data = _check_data(val_data, "val_data")
    if val_fraction is not None:
        val_fraction = check_fraction(val_fraction, "val_fraction", method)
        if val_data is not None or not isinstance(data, tuple):
            raise ValueError(f"{method}: val_fraction splits tensor data; do not pass val_data with it")
        n = len(data[0])
        n_val = max(1, round(val_fraction * n))
        if n_val >= n:
            raise ValueError(f"{method}: val_fraction={val_fraction} leaves no training data of {n}")
        order = torch.randperm(n, generator=generator)
        val_data = (data[0][order[:n_val]], data[1][order[:n_val]])
        data = (data[0][order[n_val:]], data[1][order[n_val:]])
    if patience is not None and val_data is None:
        raise ValueError(f"{method}: patience needs val_data or val_fraction")
    dev = torch_device(device)
    student.to(dev)
    teacher = teacher.to(dev).eval()

    def loss_of(x, y):
        with torch.no_grad():
            t_out = teacher(x)
        return distillation_loss(student(x), t_out, y, task=task, temperature=temperature, alpha=alpha)

    optimizer = torch.optim.Adam(student.parameters(), lr=lr)
    result = DistillResult(student=student)
    best, best_state, waited = math.inf, None, 0
    for epoch in tqdm(range(epochs), desc="distill", disable=not progress):
        student.train()
        total, count = 0.0, 0
        for x, y in _batches(data, batch_size, generator):
            x, y = x.to(dev), y.to(dev)
            loss = loss_of(x, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(x)
            count += len(x)
        result.train_loss.append(total / count)
        if val_data is None:
            continue
        student.eval()
        with torch.no_grad():
            v_total, v_count = 0.0, 0
            for x, y in _batches(val_data, 1 << 30, None):
                x, y = x.to(dev), y.to(dev)
                v_total += loss_of(x, y).item() * len(x)
                v_count += len(x)
        val = v_total / v_count
        result.val_loss.append(val)
        if val < best:
            best, waited, result.best_epoch = val, 0, epoch
            best_state = copy.deepcopy(student.state_dict())
        else:
            waited += 1
            if patience is not None and waited >= patience:
                break
    if best_state is not None:
        student.load_state_dict(best_state)
    student.eval()
    return result


def _mlp_params(widths: list[int]) -> int:
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))


def narrower_mlp(mlp: nn.Sequential, factor: float, *, generator: torch.Generator | None = None) -> nn.Sequential:
    """A freshly initialised copy of an MLP with hidden widths scaled so it has about ``factor`` times fewer parameters.

    Every hidden width ``h`` becomes ``max(1, round(s * h))`` with the largest common scale
    ``s`` for which the parameter count is at most ``count / factor``. Input and output
    sizes and the non-Linear modules (activations, dropout) are kept. Weights and biases are
    drawn ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (PyTorch's default scale) from ``generator``.

    Args:
        mlp: an ``nn.Sequential`` of ``nn.Linear`` layers and parameter-free modules.
        factor: > 1.
        generator: the initialisation's random generator (None: a fresh unseeded one).

    Returns:
        The narrower ``nn.Sequential`` (untrained: train it with :func:`distill`).

    Raises:
        ValueError: not such a Sequential, ``factor <= 1``, or a factor no width can reach.
    """
    method = "narrower_mlp"
    if not isinstance(mlp, nn.Sequential):
        raise ValueError(f"{method}: layer {type(mlp).__name__} is not an nn.Sequential MLP")
    check_model(mlp, method)
    for name, module in mlp.named_children():
        if not isinstance(module, nn.Linear) and any(True for _ in module.parameters()):
            raise ValueError(f"{method}: layer {name!r} ({type(module).__name__}) has parameters and is not a Linear")
    if not (isinstance(factor, (int, float)) and math.isfinite(factor) and factor > 1):
        raise ValueError(f"{method}: factor must be a number > 1, got {factor!r}")
    linears = [m for m in mlp if isinstance(m, nn.Linear)]
    if len(linears) < 2:
        raise ValueError(f"{method}: the MLP needs at least two Linear layers (one hidden width), has {len(linears)}")
    widths = [linears[0].in_features] + [m.out_features for m in linears]
    target = _mlp_params(widths) / factor

    def scaled(s: float) -> list[int]:
        return [widths[0]] + [max(1, round(s * h)) for h in widths[1:-1]] + [widths[-1]]

    if _mlp_params(scaled(0.0)) > target:
        raise ValueError(f"{method}: factor={factor} is out of reach: width-1 hidden layers still have "
                         f"{_mlp_params(scaled(0.0))} parameters > {target:.0f}")
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _mlp_params(scaled(mid)) <= target else (lo, mid)
    new_widths = scaled(lo)
    generator = generator if generator is not None else torch.Generator()
    layers, k = [], 0
    for module in mlp:
        if isinstance(module, nn.Linear):
            fan_in, fan_out = new_widths[k], new_widths[k + 1]
            layer = nn.Linear(fan_in, fan_out, bias=module.bias is not None, dtype=module.weight.dtype,
                              device=module.weight.device)
            bound = 1.0 / math.sqrt(fan_in)
            with torch.no_grad():
                for p in layer.parameters():
                    p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * bound)
            layers.append(layer)
            k += 1
        else:
            layers.append(copy.deepcopy(module))
    return nn.Sequential(*layers)
