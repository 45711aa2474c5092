"""The networks of the end-to-end VQA baselines: :class:`CNNLSTMNet` and :class:`FiLMNet`.

Plain ``nn.Module`` s with no training logic (that is :mod:`hybrid.neural.vqa.baseline_training`);
:func:`init_params` initialises any of them from an explicit ``torch.Generator``.
Both take uint8 images ``(n, H, W, 3)``, each question's image index, padded question
tokens and their lengths, and return answer logits ``(n_questions, n_answers)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CNNLSTMNet", "FiLMNet", "init_params"]


def init_params(module: nn.Module, gen: torch.Generator) -> None:
    """Initialise every parameter from ``gen`` (no global seeding), at PyTorch's default scales.

    Conv/linear: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for weights and biases; RNNs:
    ``U(-1/sqrt(hidden), 1/sqrt(hidden))``; embeddings ``N(0, 1)``; batch-norm scale 1 and
    shift 0.
    """
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                bound = 1.0 / math.sqrt(m.weight[0].numel())
                for p in (m.weight, m.bias):
                    if p is not None:
                        p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
            elif isinstance(m, (nn.LSTM, nn.GRU)):
                bound = 1.0 / math.sqrt(m.hidden_size)
                for p in m.parameters():
                    p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
            elif isinstance(m, nn.Embedding):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen))
            elif isinstance(m, nn.BatchNorm2d) and m.affine:
                m.weight.fill_(1.0)
                m.bias.fill_(0.0)


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


def _last_state(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The RNN output at each sequence's last real token (the batch is right-padded)."""
    idx = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, outputs.shape[2])
    return outputs.gather(1, idx).squeeze(1)


class _Images(nn.Module):
    """uint8 ``(n, H, W, 3)`` -> normalised float ``(n, 3, size, size)``."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The images as a float batch, resized and centred."""
        x = images.permute(0, 3, 1, 2).float().div_(255.0)
        if x.shape[2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="area")
        return (x - 0.5) / 0.25


class CNNLSTMNet(nn.Module):
    """The CNN+LSTM network: image vector, question vector, fused, MLP -> answer logits.

    Args:
        n_words: vocabulary size; n_answers: answer classes.
        input_size: side the images are resized to; channels: CNN width; embed_dim,
        hidden: word embedding and LSTM sizes; mlp_hidden: the classifier's hidden width.
    """

    def __init__(self, n_words, n_answers, input_size=64, channels=32, embed_dim=64, hidden=128, mlp_hidden=256):
        super().__init__()
        self.images = _Images(input_size)
        # input_size -> /16, then pooled to a 4x4 grid so the vector keeps coarse positions.
        self.cnn = nn.Sequential(
            _conv_bn(3, channels, 2),
            _conv_bn(channels, channels, 2),
            _conv_bn(channels, channels, 2),
            _conv_bn(channels, channels, 2),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(channels * 16, hidden),
            nn.ReLU(),
        )
        self.embed = nn.Embedding(n_words, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(3 * hidden, mlp_hidden), nn.ReLU(), nn.Linear(mlp_hidden, n_answers))

    def forward(self, images, image_of, tokens, lengths) -> torch.Tensor:
        """Answer logits ``(batch, n_answers)``.

        Args:
            images: uint8 ``(m, H, W, 3)``, the distinct images of the batch.
            image_of: ``(batch,)`` which of ``images`` each question is about.
            tokens, lengths: the padded question ids and their lengths.
        """
        v = self.cnn(self.images(images))[image_of]
        q = _last_state(self.lstm(self.embed(tokens))[0], lengths)
        return self.mlp(torch.cat([v, q, v * q], dim=1))


def _coords(x: torch.Tensor) -> torch.Tensor:
    """``x`` with two coordinate channels (in [-1, 1]) appended."""
    n, _, h, w = x.shape
    ys = torch.linspace(-1, 1, h, device=x.device).view(1, 1, h, 1).expand(n, 1, h, w)
    xs = torch.linspace(-1, 1, w, device=x.device).view(1, 1, 1, w).expand(n, 1, h, w)
    return torch.cat([x, ys, xs], dim=1)


class _FiLMBlock(nn.Module):
    """FiLM's residual block: 1x1 conv (with coords), ReLU, 3x3 conv, BN (no affine), FiLM, ReLU, + input."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels + 2, channels, 1)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels, affine=False)

    def forward(self, x, gamma, beta):
        """The block applied to maps ``x`` with per-example, per-channel ``gamma`` and ``beta``."""
        h = F.relu(self.conv1(_coords(x)))
        y = self.bn(self.conv2(h))
        y = F.relu(gamma[:, :, None, None] * y + beta[:, :, None, None])
        return h + y


class FiLMNet(nn.Module):
    """The FiLM network: GRU -> (gamma, beta) per block, modulating residual blocks over CNN maps.

    Args:
        n_words: vocabulary size; n_answers: answer classes.
        input_size: side the images are resized to; channels: feature maps per block;
        n_blocks: FiLM-ed residual blocks; embed_dim, hidden: word embedding and GRU
        sizes; classifier_channels, mlp_hidden: the classifier's 1x1 conv and MLP widths.

    ``gamma`` is predicted as ``1 + delta`` so that an untrained network starts near the
    identity modulation.
    """

    def __init__(
        self,
        n_words,
        n_answers,
        input_size=64,
        channels=32,
        n_blocks=4,
        embed_dim=64,
        hidden=128,
        classifier_channels=64,
        mlp_hidden=256,
    ):
        super().__init__()
        self.images = _Images(input_size)
        self.stem = nn.Sequential(_conv_bn(3, channels, 2), _conv_bn(channels, channels, 2))
        self.embed = nn.Embedding(n_words, embed_dim, padding_idx=0)
        self.gru = nn.GRU(embed_dim, hidden, batch_first=True)
        self.film = nn.Linear(hidden, 2 * channels * n_blocks)
        self.blocks = nn.ModuleList(_FiLMBlock(channels) for _ in range(n_blocks))
        self.classifier = nn.Sequential(
            nn.Conv2d(channels + 2, classifier_channels, 1),
            nn.BatchNorm2d(classifier_channels),
            nn.ReLU(),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
            nn.Linear(classifier_channels, mlp_hidden),
            nn.ReLU(),
            nn.Linear(mlp_hidden, n_answers),
        )
        self.channels = channels

    def forward(self, images, image_of, tokens, lengths) -> torch.Tensor:
        """Answer logits ``(batch, n_answers)`` (arguments as in :meth:`CNNLSTMNet.forward`)."""
        x = self.stem(self.images(images))[image_of]
        q = _last_state(self.gru(self.embed(tokens))[0], lengths)
        params = self.film(q).view(q.shape[0], len(self.blocks), 2, self.channels)
        for k, block in enumerate(self.blocks):
            x = block(x, 1.0 + params[:, k, 0], params[:, k, 1])
        return self.classifier(_coords(x))
