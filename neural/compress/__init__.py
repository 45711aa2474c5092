"""Model compression over any ``torch.nn.Module``: the deep side's own answers to "smaller and cheaper".

One idea per module:

- :mod:`~hybrid.neural.compress.prune` — unstructured magnitude pruning, structured
  pruning through Torch-Pruning's dependency graph, LSTM hidden-unit slicing;
- :mod:`~hybrid.neural.compress.sparse` — sparse (CSR) storage that turns zeros into saved bytes;
- :mod:`~hybrid.neural.compress.quantize` — post-training dynamic int8 and quantisation-aware training;
- :mod:`~hybrid.neural.compress.low_rank` — truncated-SVD factorisation of Linear and Conv2d;
- :mod:`~hybrid.neural.compress.distill` — knowledge distillation and narrower students;
- :mod:`~hybrid.neural.compress.lottery` — lottery tickets (iterative pruning with rewinding);
- :mod:`~hybrid.neural.compress.finetune` — fine-tuning that keeps pruned weights at zero;
- :mod:`~hybrid.neural.compress.report` and :mod:`~hybrid.neural.compress.compose` —
  what a compression bought, and chains of them.

Every compression function returns a compressed copy and leaves its input alone;
bad input (a fraction outside its interval, a layer a method cannot handle) raises
``ValueError`` naming the method and the layer.
"""

from hybrid.neural.compress.compose import compose
from hybrid.neural.compress.distill import DistillResult, distill, distillation_loss, narrower_mlp
from hybrid.neural.compress.finetune import fine_tune
from hybrid.neural.compress.lottery import LotteryTicket, find_lottery_ticket
from hybrid.neural.compress.low_rank import (
    LowRankResult,
    energy_rank,
    factorize_conv2d,
    factorize_linear,
    low_rank,
)
from hybrid.neural.compress.prune import (
    magnitude_prune,
    make_permanent,
    masks,
    prune_lstm_hidden,
    structured_prune,
)
from hybrid.neural.compress.quantize import (
    QuantWrapper,
    convert_qat,
    is_quantised,
    prepare_qat,
    quantization_aware_training,
    quantize_dynamic_int8,
)
from hybrid.neural.compress.report import (
    CompressionReport,
    compression_report,
    count_nonzero,
    count_parameters,
    serialized_bytes,
    stored_bytes,
)
from hybrid.neural.compress.sparse import effective_state_dict, load_sparse, save_sparse

__all__ = [
    "CompressionReport",
    "DistillResult",
    "LotteryTicket",
    "LowRankResult",
    "QuantWrapper",
    "compose",
    "compression_report",
    "convert_qat",
    "count_nonzero",
    "count_parameters",
    "distill",
    "distillation_loss",
    "effective_state_dict",
    "energy_rank",
    "factorize_conv2d",
    "factorize_linear",
    "fine_tune",
    "find_lottery_ticket",
    "load_sparse",
    "low_rank",
    "magnitude_prune",
    "make_permanent",
    "masks",
    "narrower_mlp",
    "prepare_qat",
    "prune_lstm_hidden",
    "quantization_aware_training",
    "is_quantised",
    "quantize_dynamic_int8",
    "save_sparse",
    "serialized_bytes",
    "stored_bytes",
    "structured_prune",
]
