"""NS-VQA's scene parser for the 2D CLEVR renders: image -> :class:`~hybrid.tasks.clevr.scene.Scene`.

NS-VQA (Yi et al., 2018) turns an image into a table of objects (four attributes and
3D coordinates) that a symbolic executor then reasons over. Here that table is read by
one small, fully convolutional network in the CenterNet style (Zhou et al., 2019,
"Objects as Points"), trained on the renderer's exact scene tables:

- a backbone at stride 4 (two strided convolutions, then four 3 x 3 ones dilated 1,
  2, 4, 1: a receptive field of about 70 pixels, enough to see the tallest object, a
  large cylinder ~29 pixels high, and its neighbours from its centre), upsampled
  bilinearly to stride 2, added to the (1 x 1-projected) stride-2 features and mixed
  by one more 3 x 3 convolution;
- three heads on the stride-2 grid: a **heatmap** of object centres (Gaussian targets,
  sigma = 1 cell, at each object's projected centre, trained with CenterNet's
  penalty-reduced focal loss), a **sub-cell offset** of the centre (L1 loss), and
  per-cell **logits of the four attributes** (shape 3, colour 8, size 2, material 2;
  cross-entropy on the 3 x 3 cells around each centre).

Colour is factored out (``factored_colour=True``, the default): a branch of its own that
sees 3 x 3 pixels reads colour, and the rest of the network is trained on hue-jittered
copies of the images (:func:`hue_jitter`: a random rotation about the grey axis), so no
head can learn that, say, cubes are grey or blue. Trained on 1,000 CLEVR-CoGenT A scenes
(cubes gray/blue/brown/yellow, cylinders red/green/purple/cyan) one network read 44.9% of
condition B's objects right; the factored parser reads 99.95% of A's and of B's
(300 held-out scenes each).

Decoding: objects are the heatmap's local maxima (3 x 3) above ``threshold``; the
centre is the peak cell plus its offset; attributes are the argmax of the logits
averaged over the 3 x 3 cells around the peak.

Why one stage at stride 2: the generator keeps every pair of objects at least
``margin = 0.4`` scene units apart along x *and* y, i.e. at least ~6.8 pixels apart
horizontally in a 128-pixel image, but their image rows may coincide. At stride 2 two
centres are then >= 3 cells apart and never fall in one another's 3 x 3 window, so
3 x 3 non-maximum suppression is safe (at stride 4 it is not). The same rules keep
every object at least ~70% visible (over 6,600 objects of 1000 default scenes, the
least visible showed 72% of its silhouette), so every object is detectable and no
``min_visible`` filtering of the training scenes is needed. The attributes are
learned from the same features, which already see the whole object, so a second-stage
crop classifier would add cost without new information.

Position: :func:`project` maps an object's centre ``(x, y, z)`` (z = its height above
the ground, :func:`~hybrid.tasks.clevr.generator.object_height`) to the pixel where the
renderer centres its silhouette. The parser regresses that pixel, takes ``z`` from the
predicted shape and size, and inverts the camera with :func:`unproject`; relationships
are then computed by CLEVR's rule (:func:`~hybrid.tasks.clevr.generator.compute_relationships`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from hybrid.neural.device import torch_device
from hybrid.neural.vqa.scene_metrics import object_accuracy
from hybrid.tasks._checks import is_int, is_real
from hybrid.tasks.clevr.camera import fit_camera, ground_point
from hybrid.tasks.clevr.generator import DIRECTIONS, compute_relationships, object_height
from hybrid.tasks.clevr.render import COS_ELEVATION, HALF_EXTENT, SIN_ELEVATION, VERTICAL_OFFSET, project
from hybrid.tasks.clevr.scene import Scene, SceneObject, vocabulary
from torch import nn

__all__ = ["SceneParser", "hue_jitter", "object_accuracy", "unproject"]


#: Output stride of the heads: one heatmap cell per STRIDE x STRIDE pixels.
STRIDE = 2
#: Image presentations (epochs x training images) of a fit when ``epochs`` is ``None``.
DEFAULT_PRESENTATIONS = 15_000


def unproject(px: float, py: float, z: float, image_size: int = 128) -> tuple[float, float, float]:
    """Invert :func:`hybrid.tasks.clevr.render.project` for a point at known height ``z``.

    The camera is orthographic, so a pixel fixes a line of sight; the height picks the
    point on it: ``unproject(*project(c)[:2], c[2]) == c`` up to rounding.

    Args:
        px, py: column and row in pixels (0 at the left/top edge, as ``project`` gives them).
        z: height of the point above the ground, scene units.
        image_size: the square image's side in pixels (>= 16).

    Returns:
        ``(x, y, z)`` in scene units.

    Raises:
        ValueError: a non-finite coordinate or a bad ``image_size``.
    """
    values = (px, py, z)
    if not all(is_real(v) for v in values):
        raise ValueError(f"px, py and z must be finite numbers, got {values!r}")
    if not is_int(image_size) or image_size < 16:
        raise ValueError(f"image_size must be an int >= 16, got {image_size!r}")
    scale = image_size / (2.0 * HALF_EXTENT)
    x = (float(px) - image_size / 2.0) / scale
    up = (image_size / 2.0 - float(py)) / scale + VERTICAL_OFFSET
    y = (up - COS_ELEVATION * float(z)) / SIN_ELEVATION
    return x, y, float(z)


def _values() -> list[tuple[str, ...]]:
    """The attribute values, in the heads' order: shape, colour, size, material."""
    voc = vocabulary()
    return [voc.shapes, voc.colors, voc.sizes, voc.materials]


_HEAD_ATTRIBUTES = ("shape", "color", "size", "material")


def _conv(c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class SceneNet(nn.Module):
    """The parser's network: image ``(B, 3, H, W)`` -> ``(B, 3 + n_logits, H/2, W/2)``.

    Output channels: heatmap logit, x and y offset of the centre within the cell (in
    cells), then the logits of shape, colour, size and material, in that order.

    With ``local_colour`` the colour logits come from a branch of their own that sees
    3 x 3 pixels (one strided 3 x 3 convolution, then 1 x 1 ones): colour is read from
    the object's own pixels, never from its silhouette, and the backbone's colour logits
    are not used. :meth:`forward` may then be given a second image for that branch
    (training shows the backbone a hue-jittered copy, the branch the original).

    Args:
        channels: width of the backbone (the stride-2 stem has half as many).
        n_logits: total attribute logits (15 for CLEVR).
        n_colours: how many of them are colour logits (after the shape logits).
        n_shapes: how many shape logits come first.
        local_colour: read colour with the local branch.
    """

    def __init__(
        self, channels: int = 32, n_logits: int = 15, n_colours: int = 8, n_shapes: int = 3, local_colour: bool = False
    ):
        super().__init__()
        c, h = channels, max(1, channels // 2)
        self.stem = _conv(3, h, stride=2)  # stride 2
        self.down = _conv(h, c, stride=2)  # stride 4
        self.body = nn.Sequential(_conv(c, c), _conv(c, c, dilation=2), _conv(c, c, dilation=4), _conv(c, c))
        self.skip = nn.Conv2d(h, c, 1)
        self.fuse = _conv(c, c)
        self.head = nn.Conv2d(c, 3 + n_logits, 1)
        self.colour_slice = (3 + n_shapes, 3 + n_shapes + n_colours)
        self.colour = None
        if local_colour:
            w = max(8, channels // 2)
            self.colour = nn.Sequential(
                nn.Conv2d(3, w, 3, stride=2, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(w, w, 1),
                nn.ReLU(inplace=True),
                nn.Conv2d(w, n_colours, 1),
            )

    def forward(self, x: torch.Tensor, colour_x: torch.Tensor | None = None) -> torch.Tensor:
        """Heads' outputs on the stride-2 grid (see the class docstring).

        Args:
            x: normalised images ``(B, 3, H, W)`` for the backbone.
            colour_x: images for the local colour branch (default ``x``); ignored without it.
        """
        s2 = self.stem(x)
        s4 = self.body(self.down(s2))
        up = F.interpolate(s4, size=s2.shape[-2:], mode="bilinear", align_corners=False)
        out = self.head(self.fuse(F.relu(up + self.skip(s2))))
        if self.colour is None:
            return out
        a, b = self.colour_slice
        colour = self.colour(x if colour_x is None else colour_x)
        return torch.cat([out[:, :a], colour, out[:, b:]], dim=1)


def hue_jitter(x: torch.Tensor, generator: torch.Generator, brightness: float = 0.2) -> torch.Tensor:
    """Rotate each image's colours about the grey axis by a random angle, and scale its brightness.

    Greys (the ground, grey objects, metal highlights) stay grey; every other colour can
    become any hue, so a network trained on jittered images cannot tell shape from colour.

    Args:
        x: images ``(B, 3, H, W)`` normalised to [-1, 1] (as :func:`images_to_tensor` gives).
        generator: draws the angles and brightness factors (on the CPU).
        brightness: factors are drawn from ``[1 - brightness, 1 + brightness]``.

    Returns:
        The jittered images, same shape, clamped to [-1, 1].
    """
    b = x.shape[0]
    theta = torch.rand(b, generator=generator) * (2 * math.pi)
    scale = 1.0 + (torch.rand(b, generator=generator) * 2 - 1) * brightness
    cos, sin = torch.cos(theta), torch.sin(theta)
    # Rodrigues' rotation about the unit grey axis u = (1, 1, 1) / sqrt(3).
    u = torch.full((3,), 1 / math.sqrt(3.0))
    outer = torch.outer(u, u)
    cross = torch.tensor([[0.0, -u[2], u[1]], [u[2], 0.0, -u[0]], [-u[1], u[0], 0.0]])
    eye = torch.eye(3)
    rot = cos[:, None, None] * eye + sin[:, None, None] * cross + (1 - cos)[:, None, None] * outer
    rot = (rot * scale[:, None, None]).to(x.device, x.dtype)
    rgb = (x + 1.0) / 2.0  # rotate [0, 1] colours about black, so grey stays grey
    out = torch.einsum("bij,bjhw->bihw", rot, rgb)
    return (out * 2.0 - 1.0).clamp(-1.0, 1.0)


def _init(net: SceneNet, generator: torch.Generator) -> None:
    """He-normal convolutions drawn from ``generator``; the heatmap bias starts at CenterNet's prior."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
                m.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
                if m.bias is not None:
                    m.bias.zero_()
        net.head.weight.mul_(0.1)
        net.head.bias[0] = -math.log((1 - 0.1) / 0.1)


def _learning_rate(peak: float, done: float) -> float:
    """One-cycle schedule at ``done`` in [0, 1) of training: linear warm-up over the first
    15% from ``peak / 25``, then cosine decay to ``peak / 1000``."""
    if done < 0.15:
        return peak * (0.04 + 0.96 * done / 0.15)
    return peak * (0.001 + 0.999 * 0.5 * (1.0 + math.cos(math.pi * (done - 0.15) / 0.85)))


def _check_images(images, image_size: int) -> np.ndarray:
    if not isinstance(images, np.ndarray):
        raise ValueError(f"images must be a numpy array, got {type(images).__name__}")
    if images.dtype != np.uint8:
        raise ValueError(f"images must have dtype uint8, got {images.dtype}")
    if images.ndim != 4 or images.shape[1:] != (image_size, image_size, 3):
        raise ValueError(
            f"images must have shape (N, {image_size}, {image_size}, 3) for image_size={image_size}, got {images.shape}"
        )
    return images


def images_to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 images as the parser's input: ``(N, 3, H, W)`` floats in [-1, 1] on ``device``."""
    x = torch.as_tensor(images, device=device).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def _focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, normalised by the number of objects."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1.0).float()
    pos_loss = -torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = -torch.log(1 - p) * p**2 * (1 - target) ** 4 * (1 - pos)
    return (pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1.0)


class _Targets:
    """Training targets of a set of scenes on the stride-2 grid."""

    def __init__(self, scenes: Sequence[Scene], image_size: int, sigma: float = 1.0, recorded: bool = False):
        cells = image_size // STRIDE
        self.heat = np.zeros((len(scenes), 1, cells, cells), dtype=np.float32)
        grid = np.arange(cells) + 0.5
        values = _values()
        img, row, col, off, labels = [], [], [], [], []
        for n, scene in enumerate(scenes):
            for k, obj in enumerate(scene.objects):
                px, py, _ = obj.pixel_coords if recorded else project(obj.coords, image_size)
                cx, cy = px / STRIDE, py / STRIDE
                j, i = min(max(int(math.floor(cx)), 0), cells - 1), min(max(int(math.floor(cy)), 0), cells - 1)
                g = np.exp(-((grid[None, :] - cx) ** 2 + (grid[:, None] - cy) ** 2) / (2 * sigma**2))
                np.maximum(self.heat[n, 0], g, out=self.heat[n, 0])
                self.heat[n, 0, i, j] = 1.0
                img.append(n)
                row.append(i)
                col.append(j)
                off.append((cx - j, cy - i))
                try:
                    labels.append([values[a].index(obj.attribute(name)) for a, name in enumerate(_HEAD_ATTRIBUTES)])
                except ValueError:
                    raise ValueError(f"scenes[{n}].objects[{k}] has an attribute outside CLEVR's vocabulary") from None
        self.img = np.asarray(img, dtype=np.int64)
        self.row = np.asarray(row, dtype=np.int64)
        self.col = np.asarray(col, dtype=np.int64)
        self.off = np.asarray(off, dtype=np.float32).reshape(-1, 2)
        self.labels = np.asarray(labels, dtype=np.int64).reshape(-1, 4)


class SceneParser:
    """Image -> scene table, with a CenterNet-style CNN (see the module docstring).

    Args:
        image_size: side of the square input images in pixels (a multiple of 4, >= 16).
        channels: backbone width.
        epochs: passes over the training set; ``None``: enough for at least
            ``presentations`` image presentations, and at least 15 (15 epochs
            of 1000 scenes: ~99.9% of held-out objects right, ~3 CPU minutes on one
            core), so that small training sets get as many optimiser steps as large ones.
        presentations: image presentations (epochs x images) of a fit with ``epochs=None``
            (default :data:`DEFAULT_PRESENTATIONS`); fewer for a cheaper, rougher parser.
        batch_size: images per Adam step.
        lr: AdamW's peak learning rate: a one-cycle schedule (warm-up over the first 15%
            of training, then cosine decay) over the epochs, or over ``max_seconds`` when
            that comes first, so that a time-limited fit still ends at a small rate.
        weight_decay: AdamW's decoupled weight decay.
        threshold: least heatmap probability of a detected object, in (0, 1).
        max_seconds: stop training after this many seconds (``None``: no limit); the
            learning-rate schedule follows whichever of steps and time runs out first.
        factored_colour: read colour with a branch that sees only 3 x 3 pixels, and train
            the rest of the network (detection, shape, size, material) on hue-jittered
            images (:func:`hue_jitter`), so that no head can lean on a colour-shape
            correlation of its training scenes (a parser trained on CLEVR-CoGenT A then
            reads B's colour-shape pairs). ``False``: one network reads everything from
            the plain image, as before.
        positions: where an object's centre is in the training images: ``"projected"``
            (this package's numpy renders: :func:`~hybrid.tasks.clevr.render.project` of
            its ``coords``, and :func:`unproject` back) or ``"recorded"`` (any other
            pictures -- Blender renders, CLEVR's own images: each object's
            ``pixel_coords``, which must be in the pixels of the images given; the
            camera is then fitted to the training tables by
            :func:`~hybrid.tasks.clevr.camera.fit_camera`, and parsed objects are put
            on the ground through it, their relations computed with the training
            scenes' ``directions``).
        seed: seeds the initialisation and the minibatch order (a ``torch.Generator``).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        progress: show a tqdm bar over epochs.

    Attributes:
        net_: the trained :class:`SceneNet` (in eval mode).
        device_: the ``torch.device`` it lives on.
        history_: mean training loss of each epoch.
        epochs_: epochs actually run; ``fit_seconds_``: training wall time.
        camera_: with ``positions="recorded"``, the fitted 3 x 4 camera; ``directions_``:
            the directions relations are computed with.
    """

    def __init__(
        self,
        image_size: int = 128,
        channels: int = 32,
        epochs: int | None = None,
        presentations: int = DEFAULT_PRESENTATIONS,
        batch_size: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        threshold: float = 0.3,
        max_seconds: float | None = None,
        factored_colour: bool = True,
        positions: str = "projected",
        seed: int = 0,
        device: str = "cpu",
        progress: bool = False,
    ):
        self.image_size = image_size
        self.channels = channels
        self.epochs = epochs
        self.presentations = presentations
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.threshold = threshold
        self.max_seconds = max_seconds
        self.factored_colour = factored_colour
        self.positions = positions
        self.seed = seed
        self.device = device
        self.progress = progress

    # -- configuration ---------------------------------------------------------------

    def _config(self) -> dict:
        return {
            "image_size": self.image_size,
            "channels": self.channels,
            "epochs": self.epochs,
            "presentations": self.presentations,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "threshold": self.threshold,
            "max_seconds": self.max_seconds,
            "factored_colour": self.factored_colour,
            "positions": self.positions,
            "seed": self.seed,
        }

    def _check_params(self) -> None:
        if not is_int(self.image_size) or self.image_size < 16 or self.image_size % 4:
            raise ValueError(f"image_size must be an int >= 16 and a multiple of 4, got {self.image_size!r}")
        if not is_int(self.channels) or self.channels < 2:
            raise ValueError(f"channels must be an int >= 2, got {self.channels!r}")
        if self.epochs is not None and (not is_int(self.epochs) or self.epochs < 1):
            raise ValueError(f"epochs must be None or an int >= 1, got {self.epochs!r}")
        if not is_int(self.presentations) or self.presentations < 1:
            raise ValueError(f"presentations must be an int >= 1, got {self.presentations!r}")
        if not is_int(self.batch_size) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {self.batch_size!r}")
        if not is_int(self.seed):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        if self.positions not in ("projected", "recorded"):
            raise ValueError(f"positions must be 'projected' or 'recorded', got {self.positions!r}")
        if not isinstance(self.factored_colour, (bool, np.bool_)):
            raise ValueError(f"factored_colour must be a bool, got {self.factored_colour!r}")
        for name in ("lr", "weight_decay"):
            v = getattr(self, name)
            if not is_real(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        t = self.threshold
        if not is_real(t) or not 0 < t < 1:
            raise ValueError(f"threshold must be a number in (0, 1), got {t!r}")
        m = self.max_seconds
        if m is not None and (isinstance(m, bool) or not isinstance(m, (int, float)) or not m > 0):
            raise ValueError(f"max_seconds must be None or a number > 0, got {m!r}")

    def _build(self, device: torch.device) -> SceneNet:
        values = _values()
        return SceneNet(
            self.channels,
            sum(len(v) for v in values),
            n_colours=len(values[1]),
            n_shapes=len(values[0]),
            local_colour=bool(self.factored_colour),
        ).to(device)

    # -- training --------------------------------------------------------------------

    def fit(self, images: np.ndarray, scenes: Sequence[Scene]) -> SceneParser:
        """Train on rendered images and their true scene tables.

        Args:
            images: ``(N, image_size, image_size, 3)`` uint8 RGB renders.
            scenes: the ``N`` scenes they show (``obj.coords`` and the four attributes are used).

        Returns:
            ``self``.

        Raises:
            ValueError: bad hyper-parameters, images of the wrong shape or dtype, a
                length mismatch, an unknown device or attribute value.
        """
        self._check_params()
        dev = torch_device(self.device)
        images = _check_images(images, self.image_size)
        scenes = list(scenes)
        if len(scenes) != len(images):
            raise ValueError(f"scenes must hold one Scene per image ({len(images)}), got {len(scenes)}")
        if not scenes:
            raise ValueError("images must hold at least one image")
        for n, scene in enumerate(scenes):
            if not isinstance(scene, Scene):
                raise ValueError(f"scenes[{n}] must be a Scene, got {type(scene).__name__}")
        recorded = self.positions == "recorded"
        if recorded:
            points = [(o.coords, o.pixel_coords) for scene in scenes for o in scene.objects]
            try:
                self.camera_ = fit_camera([c for c, _ in points], [p for _, p in points])
            except ValueError as exc:
                raise ValueError(f"positions='recorded': no camera fits the scenes' pixel_coords: {exc}") from None
            self.directions_ = dict(next((s.directions for s in scenes if s.directions), DIRECTIONS))
        else:
            self.camera_, self.directions_ = None, dict(DIRECTIONS)
        targets = _Targets(scenes, self.image_size, recorded=recorded)

        gen = torch.Generator().manual_seed(int(self.seed))
        net = self._build(torch.device("cpu"))
        _init(net, gen)
        net = net.to(dev)
        x_all = torch.as_tensor(images)  # uint8 on CPU: converted per batch
        heat_all = torch.as_tensor(targets.heat)
        o_img = torch.as_tensor(targets.img, device=dev)
        o_row = torch.as_tensor(targets.row, device=dev)
        o_col = torch.as_tensor(targets.col, device=dev)
        o_off = torch.as_tensor(targets.off, device=dev)
        o_lab = torch.as_tensor(targets.labels, device=dev)
        sizes = [len(v) for v in _values()]
        bounds = np.cumsum([3] + sizes).tolist()
        cells = self.image_size // STRIDE
        near = torch.tensor([(di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)], device=dev)

        n = len(images)
        epochs = self.epochs if self.epochs is not None else max(15, math.ceil(self.presentations / n))
        steps_per_epoch = math.ceil(n / self.batch_size)
        total = steps_per_epoch * epochs
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        local = torch.full((n,), -1, dtype=torch.long, device=dev)
        self.history_ = []
        start = time.perf_counter()
        bar = range(epochs)
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(bar, desc="SceneParser.fit", unit="epoch")
        epochs_run, step, done = 0, 0, 0.0
        net.train()
        for _ in bar:
            order = torch.randperm(n, generator=gen)
            running, count = 0.0, 0
            for s in range(0, n, self.batch_size):
                # progress through the schedule: steps taken, or time spent if that is further
                done = step / total
                if self.max_seconds is not None:
                    done = max(done, (time.perf_counter() - start) / self.max_seconds)
                if done >= 1.0 and step > 0:
                    break
                for group in opt.param_groups:
                    group["lr"] = _learning_rate(self.lr, min(done, 1.0))
                idx = order[s : s + self.batch_size]
                x = images_to_tensor(x_all[idx].numpy(), dev)
                heat = heat_all[idx].to(dev)
                out = net(hue_jitter(x, gen), colour_x=x) if self.factored_colour else net(x)
                loss = _focal_loss(out[:, :1], heat)
                local.fill_(-1)
                local[idx.to(dev)] = torch.arange(len(idx), device=dev)
                keep = local[o_img] >= 0
                if keep.any():
                    b, i, j = local[o_img[keep]], o_row[keep], o_col[keep]
                    offset = out[b, 1:3, i, j]
                    loss = loss + F.l1_loss(offset, o_off[keep])
                    # attributes: the 3 x 3 cells around each centre
                    bi = b.repeat_interleave(9)
                    ii = (i[:, None] + near[None, :, 0]).reshape(-1).clamp(0, cells - 1)
                    jj = (j[:, None] + near[None, :, 1]).reshape(-1).clamp(0, cells - 1)
                    logits = out[bi, :, ii, jj]
                    lab = o_lab[keep].repeat_interleave(9, dim=0)
                    for a in range(4):
                        loss = loss + F.cross_entropy(logits[:, bounds[a] : bounds[a + 1]], lab[:, a])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step += 1
                running += float(loss.detach()) * len(idx)
                count += len(idx)
            if count:
                epochs_run += 1
                self.history_.append(running / count)
                if self.progress:
                    bar.set_postfix(loss=f"{self.history_[-1]:.4f}")
            if done >= 1.0 and step > 0:
                break
        if self.progress:
            bar.close()
        net.eval()
        self.net_ = net
        self.device_ = dev
        self.epochs_ = epochs_run
        self.fit_seconds_ = time.perf_counter() - start
        return self

    # -- inference -------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise RuntimeError("this SceneParser is not fitted yet: call fit() or load() first")

    def parse(self, images: np.ndarray, batch_size: int = 64) -> list[Scene]:
        """Read the scene table of each image.

        Args:
            images: ``(N, image_size, image_size, 3)`` uint8 RGB renders.
            batch_size: images per forward pass.

        Returns:
            ``N`` scenes: objects (attributes, ``coords`` recovered by :func:`unproject`
            -- through the fitted camera with ``positions="recorded"`` --, ``pixel_coords``
            where they were found, rotation 0) ordered by image row then
            column, CLEVR's relationships and directions, ``image_index`` ``i``.

        Raises:
            RuntimeError: not fitted. ValueError: bad images or ``batch_size``.
        """
        self._check_fitted()
        images = _check_images(images, self.image_size)
        if not is_int(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        values = _values()
        bounds = np.cumsum([3] + [len(v) for v in values]).tolist()
        scenes: list[Scene] = []
        self.net_.eval()
        with torch.no_grad():
            for s in range(0, len(images), batch_size):
                out = self.net_(images_to_tensor(images[s : s + batch_size], self.device_))
                heat = torch.sigmoid(out[:, 0])
                peaks = (heat == F.max_pool2d(heat[:, None], 3, 1, 1)[:, 0]) & (heat > self.threshold)
                pooled = F.avg_pool2d(out[:, 3:], 3, 1, 1, count_include_pad=False)
                out, pooled, peaks = out.cpu().numpy(), pooled.cpu().numpy(), peaks.cpu().numpy()
                for b in range(len(out)):
                    objects = []
                    for i, j in zip(*np.nonzero(peaks[b]), strict=True):
                        px = (j + float(out[b, 1, i, j])) * STRIDE
                        py = (i + float(out[b, 2, i, j])) * STRIDE
                        attrs = {}
                        for a, name in enumerate(_HEAD_ATTRIBUTES):
                            k = int(np.argmax(pooled[b, bounds[a] - 3 : bounds[a + 1] - 3, i, j]))
                            attrs[name] = values[a][k]
                        height = object_height(attrs["shape"], attrs["size"])
                        if self.camera_ is None:
                            coords = unproject(px, py, height, self.image_size)
                            pixel = project(coords, self.image_size)
                        else:
                            coords, pixel = ground_point(self.camera_, px, py, height), (px, py, 0.0)
                        objects.append(SceneObject(**attrs, coords=coords, pixel_coords=pixel))
                    scenes.append(
                        Scene(
                            objects=tuple(objects),
                            relationships=compute_relationships(objects, self.directions_),
                            directions=self.directions_,
                            image_index=len(scenes),
                        )
                    )
        return scenes

    # -- persistence -----------------------------------------------------------------

    def save(self, path) -> None:
        """Write the configuration and weights to ``path`` (``torch.save`` of plain data)."""
        self._check_fitted()
        camera = None if self.camera_ is None else self.camera_.tolist()
        view = {"camera": camera, "directions": {k: list(v) for k, v in self.directions_.items()}}
        torch.save({"config": self._config(), "state": self.net_.state_dict(), "view": view}, Path(path))

    @classmethod
    def load(cls, path, device: str = "cpu") -> SceneParser:
        """Read a parser written by :meth:`save` (``torch.load(..., weights_only=True)``).

        Raises:
            ValueError: an unknown device, or a file that is not a saved parser.
        """
        dev = torch_device(device)
        blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or "config" not in blob or "state" not in blob:
            raise ValueError(f"path {str(path)!r} does not hold a saved SceneParser")
        config = {"factored_colour": False, **blob["config"]}  # files saved before the option: one network
        parser = cls(**config, device=device)
        parser._check_params()
        net = parser._build(torch.device("cpu"))
        net.load_state_dict(blob["state"])
        parser.net_ = net.to(dev).eval()
        parser.device_ = dev
        view = blob.get("view") or {}  # absent in files saved before recorded positions
        parser.camera_ = None if view.get("camera") is None else np.asarray(view["camera"], dtype=float)
        parser.directions_ = {k: tuple(v) for k, v in view.get("directions", DIRECTIONS).items()}
        return parser
