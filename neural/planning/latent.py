"""A discrete state encoder learned from unlabelled transitions (the symbol half of Latplan).

:class:`DiscreteStateEncoder` turns a frame into a *latent state*: a ``rows x cols`` map of
categorical symbols, one per slot, each in ``0 .. categories - 1``. It is trained on
transitions ``(frame, action, next frame)`` alone -- no grid, no class, no rule -- as a
discrete autoencoder in the spirit of Latplan's state autoencoder (Asai & Fukunaga 2018)
and Cube-Space AE (Asai & Muise 2020):

- **encoder**: a small conv trunk, then, for each slot, a linear read-out of the features
  of its own patch of the frame widened by ``margin`` pixels on each side (a
  locally-connected layer: slot weights are not shared, so a slot can learn a warped
  picture of its cell); the read-out's logits are sampled by straight-through
  Gumbel-softmax while training, and read by argmax after;
- **decoder**: each slot's one-hot symbol draws a learned sprite over its widened patch;
  the sprites of all slots are added to a learned background (pictures made of parts
  decompose this way, warped or not);
- **transition consistency**: an MLP predicts the next latent state from the latent
  state and the one-hot action; its prediction must match the encoding of the next
  frame (cross-entropy) and decode to the next frame (as Cube-Space AE's loss on the
  successor). The predictor is a training aid only: the action model that planning uses
  is read off the encoded pairs as plain data (:mod:`hybrid.symbolic.planning.action_model`).

What the encoder is told: the number of slots (the latent map's ``grid``, by default the
picture's board) and an upper bound on symbols per slot (``categories``). What it is not
told: what any symbol means, how many kinds of cell there are, the rules, or any label.
Symbols are per slot: ``3`` at slot 0 and ``3`` at slot 5 need not mean the same thing.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from hybrid.neural.device import check_device_name, torch_device

__all__ = ["DiscreteStateEncoder", "SlotAutoencoder"]


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


class SlotAutoencoder(nn.Module):
    """The network: frames ``(B, 3, H, W)`` in [0, 1] <-> slot logits ``(B, L, K)``; a transition predictor.

    Args:
        frame_shape: ``(H, W)``; ``H`` a multiple of ``grid[0]``, ``W`` of ``grid[1]``.
        grid: ``(rows, cols)`` of the latent map (``L = rows * cols`` slots).
        categories: ``K``, symbols per slot.
        num_actions: actions the predictor is conditioned on.
        channels: width of the conv trunk.
        margin: pixels each slot's patch is widened by on every side.
        width: features per slot between the patch convolution and the slot's own read-out.
        hidden: width of the transition predictor.

    Encoder: area-reduce to about 8 pixels per cell, two 3x3 convolutions, one convolution
    whose kernel is a widened patch and whose stride is a cell (``width`` features per
    slot), then a linear read-out per slot (weights not shared: a slot may see a warped
    cell). Decoder: a learned embedding per (slot, symbol), drawn by a transposed
    convolution of the same patch and stride, added to a learned background.
    """

    def __init__(
        self,
        frame_shape: tuple[int, int],
        grid: tuple[int, int],
        categories: int,
        num_actions: int,
        channels: int = 16,
        margin: int = 4,
        width: int = 64,
        hidden: int = 256,
    ) -> None:
        super().__init__()
        (h, w), (rows, cols) = frame_shape, grid
        self.frame_shape, self.grid, self.categories, self.num_actions = (h, w), (rows, cols), categories, num_actions
        self.cell = (h // rows, w // cols)
        # area-reduce so that a cell is about 8 pixels a side (a factor that divides both cell sides)
        self.pool = max(p for p in range(1, max(1, min(self.cell) // 8) + 1) if not self.cell[0] % p + self.cell[1] % p)
        self.slots, self.width = rows * cols, width
        fm = math.ceil(margin / self.pool)
        fcell = (self.cell[0] // self.pool, self.cell[1] // self.pool)
        # batch norm keeps the read-out's logits in range: without it they grow until the softmax saturates
        # on one symbol early in training, and the code collapses
        self.trunk = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, width, (fcell[0] + 2 * fm, fcell[1] + 2 * fm), stride=fcell, padding=fm),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        )
        self.read_w = nn.Parameter(torch.randn(self.slots, width, categories) / math.sqrt(width))
        self.read_b = nn.Parameter(torch.zeros(self.slots, categories))
        self.embed = nn.Parameter(torch.randn(self.slots, categories, width) * 0.1)
        patch = (self.cell[0] + 2 * margin, self.cell[1] + 2 * margin)
        self.draw = nn.ConvTranspose2d(width, 3, patch, stride=self.cell, padding=margin)
        self.background = nn.Parameter(torch.zeros(1, 3, h, w))
        self.predictor = nn.Sequential(
            nn.Linear(self.slots * categories + num_actions, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, self.slots * categories),
        )

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Slot logits ``(B, L, K)`` of frames ``x`` ``(B, 3, H, W)``."""
        if self.pool > 1:  # area-reduce first: the trunk's cost grows with the pixels it sees
            x = F.avg_pool2d(x, self.pool)
        f = self.trunk(x).flatten(2).transpose(1, 2)  # (B, L, width)
        return torch.einsum("ble,lek->blk", f, self.read_w) + self.read_b

    def decode(self, onehot: torch.Tensor) -> torch.Tensor:
        """Frames ``(B, 3, H, W)`` in [0, 1] drawn from one-hot (or soft) symbols ``(B, L, K)``."""
        e = torch.einsum("blk,lke->bel", onehot, self.embed).reshape(len(onehot), self.width, *self.grid)
        return torch.sigmoid(self.draw(e) + self.background)

    def predict(self, onehot: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, L, K)`` of the next latent state, from symbols ``(B, L, K)`` and action ids ``(B,)``."""
        a = F.one_hot(actions, self.num_actions).to(onehot.dtype)
        out = self.predictor(torch.cat([onehot.flatten(1), a], dim=1))
        return out.view(-1, self.slots, self.categories)


def _straight_through(p: torch.Tensor) -> torch.Tensor:
    """One-hot of ``p``'s argmax forward, ``p``'s gradient backward (straight-through estimator)."""
    return F.one_hot(p.argmax(-1), p.shape[-1]).to(p.dtype) + p - p.detach()


class DiscreteStateEncoder:
    """Frames -> latent states of categorical symbols, learned from unlabelled transitions (see the module docstring).

    Args:
        grid: ``(rows, cols)`` of the latent map: frames split into this many equal patches.
        categories: symbols per slot (an upper bound; unused symbols cost nothing).
        channels: width of the conv trunk.
        margin: pixels a slot's patch is widened by on each side (None: a quarter of the smaller cell side).
        epochs: passes over the transitions.
        batch_size: transitions per Adam step.
        lr: Adam's learning rate.
        tau: the softmax temperature of the straight-through gradient.
        noise: scale of the Gumbel noise added to the logits while training (1: Gumbel-softmax
            sampling; smaller: closer to the argmax, which the decoder then learns to draw from).
        transition_weight: weight of the transition-consistency terms (0: a plain discrete autoencoder).
        prior_weight: weight of the KL of each slot's posterior to the uniform distribution (Latplan's prior).
        merge_tol: after training, symbols of a slot whose drawings of the slot's cell differ by less
            than this (mean absolute difference, pixels in [0, 1]) become one symbol (0: never merge).
        max_seconds: stop training after this many seconds (None: no limit).
        seed: seeds the initialisation, the batches and the Gumbel noise.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        progress: show a tqdm bar over epochs.

    Attributes (after :meth:`fit`):
        net_: the trained :class:`SlotAutoencoder` (eval mode); ``device_``: where it lives.
        frame_shape_: ``(H, W)`` of the training frames; ``num_actions_``: actions seen by the predictor.
        history_: per epoch, the mean reconstruction and transition losses.
        fit_seconds_: training wall time; ``transitions_``: training transitions;
        canonical_: int ``(L, K)``, the symbol each raw symbol is read as after merging.
    """

    def __init__(
        self,
        grid: tuple[int, int],
        categories: int = 16,
        channels: int = 16,
        margin: int | None = None,
        epochs: int = 40,
        batch_size: int = 100,
        lr: float = 3e-3,
        tau: float = 1.0,
        noise: float = 0.3,
        transition_weight: float = 0.1,
        prior_weight: float = 1.0,
        merge_tol: float = 0.03,
        max_seconds: float | None = None,
        seed: int = 0,
        device: str = "auto",
        progress: bool = False,
    ) -> None:
        if not (isinstance(grid, (tuple, list)) and len(grid) == 2):
            raise ValueError(f"grid must be (rows, cols), got {grid!r}")
        self.grid = (_positive_int("grid[0]", grid[0]), _positive_int("grid[1]", grid[1]))
        self.categories = _positive_int("categories", categories, 2)
        self.channels = _positive_int("channels", channels)
        self.margin = None if margin is None else _positive_int("margin", margin, 0)
        self.epochs = _positive_int("epochs", epochs)
        self.batch_size = _positive_int("batch_size", batch_size)
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        if not tau > 0:
            raise ValueError(f"tau must be > 0, got {tau!r}")
        if not noise >= 0:
            raise ValueError(f"noise must be >= 0, got {noise!r}")
        self.noise = float(noise)
        if not merge_tol >= 0:
            raise ValueError(f"merge_tol must be >= 0, got {merge_tol!r}")
        self.merge_tol = float(merge_tol)
        if not prior_weight >= 0:
            raise ValueError(f"prior_weight must be >= 0, got {prior_weight!r}")
        self.prior_weight = float(prior_weight)
        if not transition_weight >= 0:
            raise ValueError(f"transition_weight must be >= 0, got {transition_weight!r}")
        self.lr, self.tau, self.transition_weight = float(lr), float(tau), float(transition_weight)
        self.max_seconds = max_seconds
        self.seed = int(seed)
        self.device = check_device_name(device)
        self.progress = bool(progress)

    # ------------------------------------------------------------------ input checks

    def _check_frames(self, frames: Any, name: str, shape: tuple[int, int] | None) -> np.ndarray:
        if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != 3:
            got = getattr(frames, "shape", type(frames).__name__)
            raise ValueError(f"{name} must be a uint8 array (N, H, W, 3), got {got}")
        h, w = frames.shape[1:3]
        if shape is not None and (h, w) != tuple(shape):
            raise ValueError(f"{name} must be {shape[0]}x{shape[1]} pixels (the training frames' size), got {h}x{w}")
        rows, cols = self.grid
        if h % rows or w % cols:
            raise ValueError(f"{name} of {h}x{w} pixels do not split into a {rows}x{cols} latent grid of equal patches")
        return frames

    def _tensor(self, frames: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(frames, device=self.device_).permute(0, 3, 1, 2).float().div_(255.0)

    # ------------------------------------------------------------------ training

    def fit(self, frames: np.ndarray, actions: Any, next_frames: np.ndarray, num_actions: int) -> DiscreteStateEncoder:
        """Train on transitions ``(frames[i], actions[i], next_frames[i])``.

        Args:
            frames, next_frames: uint8 ``(N, H, W, 3)`` frames before and after each action.
            actions: int ``(N,)`` action ids in ``0 .. num_actions - 1``.
            num_actions: the env's number of actions.

        Returns:
            self.

        Raises:
            ValueError: frames of another size than each other or not splitting into the grid,
                mismatched lengths, or an action id out of range.
        """
        frames = self._check_frames(frames, "frames", None)
        next_frames = self._check_frames(next_frames, "next_frames", frames.shape[1:3])
        num_actions = _positive_int("num_actions", num_actions)
        acts = np.asarray(actions)
        if acts.shape != (len(frames),) or len(next_frames) != len(frames):
            raise ValueError(
                "frames, actions and next_frames must have one length, "
                f"got {len(frames)}, {acts.shape}, {len(next_frames)}"
            )
        if not np.issubdtype(acts.dtype, np.integer) or acts.min() < 0 or acts.max() >= num_actions:
            raise ValueError(f"actions must be ints in 0..{num_actions - 1}, got range {acts.min()}..{acts.max()}")
        self.device_ = torch_device(self.device)
        self.frame_shape_ = (int(frames.shape[1]), int(frames.shape[2]))
        self.num_actions_ = num_actions
        cell = min(self.frame_shape_[0] // self.grid[0], self.frame_shape_[1] // self.grid[1])
        margin = max(1, cell // 4) if self.margin is None else self.margin
        gen = torch.Generator().manual_seed(self.seed)
        with torch.random.fork_rng(devices=[]):  # parameter init draws from the default generator: seed a copy
            torch.manual_seed(self.seed)
            net = SlotAutoencoder(self.frame_shape_, self.grid, self.categories, num_actions, self.channels, margin)
        net.to(self.device_).train()
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        x_all, y_all = torch.as_tensor(frames), torch.as_tensor(next_frames)
        a_all = torch.as_tensor(acts, dtype=torch.int64)
        n, bs = len(frames), min(self.batch_size, len(frames))
        self.history_: list[dict[str, float]] = []
        t0 = time.perf_counter()
        epochs = range(self.epochs)
        if self.progress:
            from tqdm.auto import tqdm

            epochs = tqdm(epochs, desc="DiscreteStateEncoder.fit", unit="epoch")
        for _ in epochs:
            order = torch.randperm(n, generator=gen)
            sums = {"reconstruction": 0.0, "transition": 0.0}
            for lo in range(0, n, bs):
                idx = order[lo : lo + bs]
                x = x_all[idx].to(self.device_).permute(0, 3, 1, 2).float() / 255.0
                y = y_all[idx].to(self.device_).permute(0, 3, 1, 2).float() / 255.0
                a = a_all[idx].to(self.device_)
                both = net.logits(torch.cat([x, y]))
                u = -torch.empty(both.shape).exponential_(generator=gen).log().to(self.device_)  # Gumbel noise
                z = _straight_through(F.softmax((both + self.noise * u) / self.tau, dim=-1))
                xy = torch.cat([x, y])
                recon = F.mse_loss(net.decode(z), xy, reduction="sum") / len(xy)  # squared error per frame
                loss, trans = recon, torch.zeros(())
                if self.prior_weight > 0:  # Latplan's prior: each slot's posterior pulled to the uniform one
                    logp = F.log_softmax(both, dim=-1)
                    prior = (logp.exp() * (logp + math.log(self.categories))).sum(-1).sum(-1).mean()
                    loss = loss + self.prior_weight * prior
                if self.transition_weight > 0:
                    target = both[len(idx) :].argmax(-1).detach()
                    # the predictor learns the encoder's next symbols (no gradient into the encoder: a constant
                    # code would satisfy it), and its prediction must draw the next frame (this one shapes both)
                    ce = F.cross_entropy(net.predict(z[: len(idx)].detach(), a).flatten(0, 1), target.flatten())
                    pred = _straight_through(F.softmax(net.predict(z[: len(idx)], a) / self.tau, dim=-1))
                    drawn = F.mse_loss(net.decode(pred), y, reduction="sum") / len(idx)
                    trans = ce + drawn
                    loss = loss + self.transition_weight * drawn + ce
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sums["reconstruction"] += float(recon.detach()) * len(idx)
                sums["transition"] += float(trans.detach()) * len(idx)
            self.history_.append({k: v / n for k, v in sums.items()})
            if self.max_seconds is not None and time.perf_counter() - t0 > self.max_seconds:
                break
        self.net_ = net.eval()
        self.canonical_ = np.arange(self.categories)[None].repeat(self.grid[0] * self.grid[1], 0)
        self.canonical_ = self._canonical_symbols(frames[: min(len(frames), 2000)])
        self.fit_seconds_ = time.perf_counter() - t0
        self.transitions_ = n
        return self

    @torch.no_grad()
    def _canonical_symbols(self, frames: np.ndarray) -> np.ndarray:
        """``(L, K)``: each symbol's representative, merging symbols of a slot whose drawings of its cell agree.

        An encoder may give one picture of a cell two symbols (it saw a neighbour through its
        margin); two symbols are the same symbol when the decoder draws the slot's own cell
        alike for both (mean absolute difference below ``merge_tol``, pixels in [0, 1]).
        Merging them keeps a move's effect on the cells it changes, so that the action model
        is not split by what the neighbours show.
        """
        z = self.encode(frames)
        base = torch.as_tensor(z[0], device=self.device_)
        (h, w), (rows, cols) = self.net_.cell, self.grid
        out = np.arange(self.categories)[None].repeat(rows * cols, 0)
        for slot in range(rows * cols):
            used = np.unique(z[:, slot])
            if len(used) < 2:
                continue
            latents = base.repeat(len(used), 1)
            latents[:, slot] = torch.as_tensor(used, device=self.device_)
            drawn = self.net_.decode(F.one_hot(latents, self.categories).float())
            r, c = divmod(slot, cols)
            cell = drawn[:, :, r * h : (r + 1) * h, c * w : (c + 1) * w].flatten(1)
            gap = (cell[:, None] - cell[None]).abs().mean(-1).cpu().numpy()
            parent = list(range(len(used)))

            def find(i: int, parent: list[int] = parent) -> int:
                while parent[i] != i:
                    i = parent[i]
                return i

            for i in range(len(used)):
                for j in range(i + 1, len(used)):
                    if gap[i, j] < self.merge_tol:
                        parent[find(j)] = find(i)
            for i, v in enumerate(used):
                out[slot, v] = used[find(i)]
        return out

    # ------------------------------------------------------------------ use

    def _require_fit(self) -> None:
        if not hasattr(self, "net_"):
            raise RuntimeError("DiscreteStateEncoder is not fitted: call fit(frames, actions, next_frames, ...)")

    @torch.no_grad()
    def encode(self, frames: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Return the int64 latent states ``(N, rows * cols)`` of uint8 frames ``(N, H, W, 3)``.

        Raises:
            RuntimeError: before :meth:`fit`.
            ValueError: frames of another size than the training frames.
        """
        self._require_fit()
        frames = self._check_frames(frames, "frames", self.frame_shape_)
        out = [
            self.net_.logits(self._tensor(frames[i : i + batch_size])).argmax(-1).cpu()
            for i in range(0, len(frames), batch_size)
        ]
        z = torch.cat(out).numpy().astype(np.int64)
        return np.take_along_axis(self.canonical_.T, z, axis=0) if z.size else z

    @torch.no_grad()
    def decode(self, states: Any) -> np.ndarray:
        """Return the uint8 frames ``(N, H, W, 3)`` the decoder draws for latent states ``(N, rows * cols)``.

        Raises:
            RuntimeError: before :meth:`fit`.
            ValueError: states of the wrong length or with symbols out of range.
        """
        self._require_fit()
        z = np.asarray(states)
        slots = self.grid[0] * self.grid[1]
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != slots or not np.issubdtype(z.dtype, np.integer):
            raise ValueError(f"states must be ints of shape (N, {slots}), got {z.dtype} {z.shape}")
        if z.size and (z.min() < 0 or z.max() >= self.categories):
            raise ValueError(f"states must hold symbols in 0..{self.categories - 1}")
        onehot = F.one_hot(torch.as_tensor(z, device=self.device_), self.categories).float()
        img = self.net_.decode(onehot).permute(0, 2, 3, 1).mul(255).round().clamp(0, 255)
        return img.to(torch.uint8).cpu().numpy()
