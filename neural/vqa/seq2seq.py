"""The question parser's sequence-to-sequence network (:mod:`hybrid.neural.vqa.question_parser`).

**Network**: a bidirectional LSTM encoder over the delexicalised words; an LSTM decoder
initialised from the encoder's final states, with Luong "general" attention over the
encoder outputs (``tanh(W[o_t; c_t])`` before the output layer, no input feeding, so teacher
forcing runs the decoder in one call); embedding and output dropout; Adam with gradient
clipping; greedy decoding up to ``max_len`` tokens, or beam search that prefers the best
hypothesis using every value the question names.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

# ============================================================================ network


class _Seq2Seq(nn.Module):
    """Bidirectional LSTM encoder, LSTM decoder with Luong (general) attention."""

    def __init__(self, n_in: int, n_out: int, embed_dim: int, hidden_dim: int):
        super().__init__()
        self.src_emb = nn.Embedding(n_in, embed_dim, padding_idx=0)
        self.encoder = nn.LSTM(embed_dim, hidden_dim // 2, batch_first=True, bidirectional=True)
        self.tgt_emb = nn.Embedding(n_out, embed_dim, padding_idx=0)
        self.decoder = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.attn = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.combine = nn.Linear(2 * hidden_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, n_out)

    def reset(self, gen: torch.Generator) -> None:
        """Every parameter ``U(-0.1, 0.1)`` from ``gen`` (padding embeddings zero)."""
        with torch.no_grad():
            for p in self.parameters():
                p.copy_((torch.rand(p.shape, generator=gen) * 0.2 - 0.1).to(p.device))
            self.src_emb.weight[0].zero_()
            self.tgt_emb.weight[0].zero_()

    def encode(self, src: torch.Tensor, lengths: torch.Tensor, drop):
        """Encoder outputs ``(B, S, H)``, the source mask ``(B, S)`` and the decoder's first state."""
        emb = drop(self.src_emb(src))
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h, c) = self.encoder(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        state = (torch.cat([h[0], h[1]], -1).unsqueeze(0), torch.cat([c[0], c[1]], -1).unsqueeze(0))
        return out, src != 0, state

    def decode(self, inp: torch.Tensor, state, enc: torch.Tensor, src_mask: torch.Tensor, drop):
        """Logits ``(B, T, n_out)`` for decoder inputs ``inp`` ``(B, T)``, and the new state."""
        o, state = self.decoder(drop(self.tgt_emb(inp)), state)
        scores = torch.bmm(self.attn(o), enc.transpose(1, 2))  # (B, T, S)
        scores = scores.masked_fill(~src_mask.unsqueeze(1), float("-inf"))
        ctx = torch.bmm(torch.softmax(scores, -1), enc)
        h = torch.tanh(self.combine(torch.cat([o, ctx], -1)))
        return self.out(drop(h)), state
