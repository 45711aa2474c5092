"""End-to-end deep baselines for visual QA: CNN+LSTM and FiLM.

Both learn from ``(image, question, answer)`` triples only, with no scene table and no
program, and are what the neuro-symbolic pipeline (``hybrid.vqa``) is compared against:

- :class:`CNNLSTM` (the "CNN+LSTM" baseline of Antol et al. 2015 and Johnson et al.
  2017): a small CNN turns the image into a vector, an LSTM reads the question, the two
  vectors are fused (concatenated with their element-wise product) and an MLP scores the
  answers.
- :class:`FiLM` (Perez et al. 2018): a GRU reads the question and predicts, for each
  residual block, a per-channel scale ``gamma`` and shift ``beta`` that modulate the
  block's feature maps (``FiLM(x) = gamma * x + beta``); the blocks see the CNN's feature
  maps with two coordinate channels, and a classifier (1x1 conv, global max pool, MLP)
  scores the answers.

Both are scaled down to train on a CPU: images (uint8 RGB, any size; 128x128 from
:func:`hybrid.tasks.clevr.render_scene`) are area-resized to ``input_size`` (64 by default) and
a stride-2 stem takes them to 16x16 feature maps. Answers are classes, the distinct
answer strings of the training set (an answer never seen in training is simply never
predicted). Questions go through :func:`hybrid.neural.vqa.text.tokenize` and a
:class:`hybrid.neural.vqa.text.Vocab` built on the training questions; an unknown word becomes
``<UNK>``.

Training (shared by both, :class:`VQABaseline`): Adam on cross-entropy, minibatches in a
seeded random order, gradient-norm clipping, an optional validation split (by image, so it
measures new images) with early stopping that keeps the best weights, an optional time
budget (``max_seconds``) and a tqdm bar over epochs. Each minibatch runs the image stem
once per distinct image in it, so many questions per image cost less.

Both are scikit-learn estimators whose constructors list every hyper-parameter. The
networks live in :mod:`hybrid.neural.vqa.baseline_nets`, the shared training loop in
:mod:`hybrid.neural.vqa.baseline_training`; this module holds the two named baselines and
re-exports the rest.
"""
from __future__ import annotations

from hybrid.neural.vqa.baseline_nets import CNNLSTMNet, FiLMNet
from hybrid.neural.vqa.baseline_training import VQABaseline

__all__ = ["CNNLSTM", "CNNLSTMNet", "FiLM", "FiLMNet", "VQABaseline"]


class CNNLSTM(VQABaseline):
    """The CNN+LSTM baseline (Antol et al. 2015; Johnson et al. 2017), CPU-sized.

    A four-layer stride-2 CNN (conv-BN-ReLU, ``channels`` wide) over the image resized to
    ``input_size``, average-pooled to a 4x4 grid and projected to ``hidden``; an LSTM over
    word embeddings (``embed_dim``) whose last state is the question vector; the MLP
    (``mlp_hidden``) scores answers from ``[image, question, image * question]``.

    Args:
        epochs, batch_size, lr, weight_decay, val_fraction, patience, clip_norm, max_seconds,
            seed, device, progress: training, see :class:`VQABaseline`.
        input_size, channels, embed_dim, hidden, mlp_hidden: network sizes (defaults
            64, 32, 64, 128, 256).
    """

    _net_class = CNNLSTMNet
    _net_args = ("input_size", "channels", "embed_dim", "hidden", "mlp_hidden")

    def __init__(
        self,
        epochs: int = 50,
        batch_size: int = 64,
        lr: float = 1e-3,
        max_seconds: float | None = None,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = False,
        *,
        weight_decay: float = 0.0,
        val_fraction: float = 0.1,
        patience: int = 5,
        clip_norm: float | None = 5.0,
        input_size: int = 64,
        channels: int = 32,
        embed_dim: int = 64,
        hidden: int = 128,
        mlp_hidden: int = 256,
    ):
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            val_fraction=val_fraction,
            patience=patience,
            clip_norm=clip_norm,
            max_seconds=max_seconds,
            seed=seed,
            device=device,
            progress=progress,
        )
        self.input_size = input_size
        self.channels = channels
        self.embed_dim = embed_dim
        self.hidden = hidden
        self.mlp_hidden = mlp_hidden


class FiLM(VQABaseline):
    """The FiLM baseline (Perez et al. 2018), CPU-sized.

    A two-layer stride-2 stem (conv-BN-ReLU, ``channels`` wide: ``input_size`` 64 ->
    16x16 maps); ``n_blocks`` residual blocks, each modulated by a per-channel ``gamma``,
    ``beta`` that a linear layer predicts from the last state of a GRU (``hidden``) over
    word embeddings (``embed_dim``); coordinate channels enter every block and the
    classifier (1x1 conv to ``classifier_channels``, global max pool, MLP of
    ``mlp_hidden``).

    Args:
        epochs, batch_size, lr, weight_decay, val_fraction, patience, clip_norm, max_seconds,
            seed, device, progress: training, see :class:`VQABaseline`.
        input_size, channels, n_blocks, embed_dim, hidden, classifier_channels, mlp_hidden:
            network sizes (defaults 64, 32, 4, 64, 128, 64, 256).
    """

    _net_class = FiLMNet
    _net_args = ("input_size", "channels", "n_blocks", "embed_dim", "hidden", "classifier_channels", "mlp_hidden")

    def __init__(
        self,
        epochs: int = 50,
        batch_size: int = 64,
        lr: float = 1e-3,
        max_seconds: float | None = None,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = False,
        *,
        weight_decay: float = 0.0,
        val_fraction: float = 0.1,
        patience: int = 5,
        clip_norm: float | None = 5.0,
        input_size: int = 64,
        channels: int = 32,
        n_blocks: int = 4,
        embed_dim: int = 64,
        hidden: int = 128,
        classifier_channels: int = 64,
        mlp_hidden: int = 256,
    ):
        super().__init__(
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            weight_decay=weight_decay,
            val_fraction=val_fraction,
            patience=patience,
            clip_norm=clip_norm,
            max_seconds=max_seconds,
            seed=seed,
            device=device,
            progress=progress,
        )
        self.input_size = input_size
        self.channels = channels
        self.n_blocks = n_blocks
        self.embed_dim = embed_dim
        self.hidden = hidden
        self.classifier_channels = classifier_channels
        self.mlp_hidden = mlp_hidden
