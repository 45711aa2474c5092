"""Pruning: zeroing small weights (unstructured) and removing whole units (structured).

- :func:`magnitude_prune` — unstructured magnitude pruning (Han et al. 2015,
  "Learning both Weights and Connections"): the ``amount`` fraction of weights with the
  smallest ``|w|`` become zero, over the whole model (``scope="global"``) or layer by
  layer, with ``torch.nn.utils.prune``. The shapes do not change; the bytes shrink only
  when stored sparse (:mod:`hybrid.neural.compress.sparse`).
- :func:`structured_prune` — removes whole neurons / channels (Li et al. 2017, "Pruning
  Filters for Efficient ConvNets": the units of smallest L_p norm) with Torch-Pruning's
  ``DependencyGraph`` (Fang et al. 2023, "DepGraph"), which finds every layer coupled to a
  removed channel (the next layer's inputs, BatchNorm, residual additions). The weights
  physically shrink, so the model is smaller and faster with dense kernels.
- :func:`prune_lstm_hidden` — the same for an ``nn.LSTM`` and the ``nn.Linear`` reading
  it, which Torch-Pruning does not slice correctly (its LSTM rule assumes one layer and
  prunes the input weights' columns by gate-expanded indices).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.utils.prune as tprune
from hybrid.neural.compress._checks import (
    ATTENTION,
    RECURRENT,
    check_fraction,
    check_model,
    example_tensor,
    reject,
    require,
)
from torch import nn

#: Layers whose weights :func:`magnitude_prune` prunes (parameters named ``weight`` or ``weight_*``).
PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
            nn.ConvTranspose3d, nn.LSTM, nn.GRU, nn.RNN, nn.Embedding)
#: Layers whose output units :func:`structured_prune` removes.
STRUCTURED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _targets(model: nn.Module, types: tuple[type, ...], include_bias: bool) -> list[tuple[nn.Module, str]]:
    out = []
    for module in model.modules():
        if not isinstance(module, types):
            continue
        for name, _ in module.named_parameters(recurse=False):
            base = name.removesuffix("_orig")
            if base == "weight" or base.startswith("weight_") or (include_bias and base.startswith("bias")):
                out.append((module, base))
    return out


def magnitude_prune(model: nn.Module, amount: float, *, scope: str = "global", permanent: bool = True,
                    layer_types: tuple[type, ...] = PRUNABLE, include_bias: bool = False) -> nn.Module:
    """Unstructured L1-magnitude pruning of a copy of ``model`` (Han et al. 2015).

    Exactly ``round(amount * n)`` of the ``n`` still-unpruned weights become zero: ``n``
    counts every ``weight``/``weight_*`` tensor of ``layer_types`` together (``scope="global"``,
    ``torch.nn.utils.prune.global_unstructured``) or each tensor alone (``scope="layer"``,
    ``round(amount * n_i)`` per tensor). Pruning an already-pruned copy again prunes
    ``amount`` of what is left (the masks multiply).

    Args:
        model: any module holding Linear / Conv / recurrent / Embedding layers; not changed.
        amount: fraction in (0, 1) of weights to zero.
        scope: ``"global"`` (one threshold for the model) or ``"layer"``.
        permanent: True applies the masks to the weights (``prune.remove``): plain zeros
            and the original state_dict keys. False keeps ``torch.nn.utils.prune``'s
            reparametrisation (``weight_orig`` times a fixed ``weight_mask``), which keeps
            the zeros in place while training: fine-tune with :func:`fine_tune`, then call
            :func:`make_permanent`.
        layer_types: which layers to prune.
        include_bias: prune biases too.

    Returns:
        The pruned copy.

    Raises:
        ValueError: ``amount`` outside (0, 1), an unknown ``scope``, no layer to prune, or
            ``permanent=False`` on a model with attention (its projections bypass the masks).
    """
    method = "magnitude_prune"
    check_model(model, method)
    amount = check_fraction(amount, "amount", method)
    if scope not in ("global", "layer"):
        raise ValueError(f"{method}: scope must be 'global' or 'layer', got {scope!r}")
    require(model, tuple(layer_types), method)
    if not permanent:
        reject(model, ATTENTION, method, "its projections are read directly, not through forward(), so a "
                                         "pruning mask would go stale during training; use permanent=True")
    pruned = copy.deepcopy(model)
    targets = _targets(pruned, tuple(layer_types), include_bias)
    if not targets:
        raise ValueError(f"{method}: the {', '.join(t.__name__ for t in layer_types)} layers of the model hold no "
                         f"weight tensors to prune")
    if scope == "global":
        tprune.global_unstructured(targets, pruning_method=tprune.L1Unstructured, amount=amount)
    else:
        for module, name in targets:
            tprune.l1_unstructured(module, name, amount=amount)
    return make_permanent(pruned) if permanent else pruned


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold every pruning mask of ``model`` into its weights (``prune.remove``), in place.

    After this the zeros are plain zeros (training may move them) and the state_dict has
    the original keys. A model without masks is returned unchanged.

    Returns:
        ``model``.
    """
    for module in model.modules():
        for name in [n.removesuffix("_mask") for n, _ in module.named_buffers(recurse=False) if n.endswith("_mask")]:
            if tprune.is_pruned(module) and hasattr(module, name + "_orig"):
                tprune.remove(module, name)
    return model


def masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """The pruning masks of a reparametrised model: ``"layer.weight"`` -> bool tensor (True = kept)."""
    out = {}
    for mod_name, module in model.named_modules():
        for name, buf in module.named_buffers(recurse=False):
            if name.endswith("_mask") and hasattr(module, name.removesuffix("_mask") + "_orig"):
                key = f"{mod_name}.{name.removesuffix('_mask')}" if mod_name else name.removesuffix("_mask")
                out[key] = buf.detach().bool().clone()
    return out


def _output_layers(model: nn.Module, example_inputs, graph) -> set[nn.Module]:
    """Layers whose out-channels reach the model's output (pruning them would change its shape)."""
    import torch_pruning as tp

    outputs: list[torch.Tensor] = []
    seen: dict[int, tuple[nn.Module, torch.Tensor]] = {}  # the tensor is held so that its id stays unique

    def hook(module, _inputs, output):
        if isinstance(output, torch.Tensor):
            seen[id(output)] = (module, output)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, STRUCTURED)]
    try:
        with torch.no_grad():
            out = model(*example_inputs) if isinstance(example_inputs, (tuple, list)) else model(example_inputs)
    finally:
        for h in handles:
            h.remove()
    stack = [out]
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            outputs.append(item)
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    producers = {id(seen[id(t)][0]) for t in outputs if id(t) in seen and seen[id(t)][1] is t}
    fixed = set()
    for module in model.modules():
        if not isinstance(module, STRUCTURED):
            continue
        fn = tp.prune_linear_out_channels if isinstance(module, nn.Linear) else tp.prune_conv_out_channels
        group = graph.get_pruning_group(module, fn, idxs=[0])
        for dep, _ in group.items:
            target = dep.target.module
            if isinstance(target, tp.ops._OutputOp) or (
                    id(target) in producers and graph.is_out_channel_pruning_fn(dep.handler)):
                fixed.add(module)
                break
    return fixed


def _output_shapes(model: nn.Module, example_inputs) -> list:
    with torch.no_grad():
        out = model(*example_inputs) if isinstance(example_inputs, (tuple, list)) else model(example_inputs)
    flat, stack = [], [out]
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            flat.append(tuple(item.shape))
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return flat


def structured_prune(model: nn.Module, example_inputs: torch.Tensor | tuple, amount: float, *,
                     norm: int = 2, scope: str = "layer", ignored_layers: tuple[str, ...] = ()) -> nn.Module:
    """Remove the ``amount`` fraction of output units / channels of smallest L_p norm (Li et al. 2017).

    Torch-Pruning's ``MetaPruner`` with ``GroupMagnitudeImportance(p=norm)`` traces
    ``model(example_inputs)`` into a dependency graph and removes each chosen channel from
    every coupled layer (next layer's inputs, BatchNorm, flatten-to-Linear). With
    ``scope="layer"`` each layer loses ``amount`` of its units; with ``"global"`` one
    ranking over all layers decides (layers shrink unevenly). Layers whose units are the
    model's output (the classifier / regression head) keep every unit, so the output shape
    is unchanged.

    Args:
        model: a module built from Linear / Conv1d/2d/3d layers (BatchNorm, pooling,
            activations, flatten and residual additions between them are fine); not changed.
        example_inputs: a batch (tensor or tuple of tensors) ``model`` accepts.
        amount: fraction in (0, 1) of units to remove.
        norm: ``p`` of the L_p importance (1 or 2).
        scope: ``"layer"`` or ``"global"``.
        ignored_layers: dotted names of layers to leave whole.

    Returns:
        The pruned copy (smaller weight shapes, same output shape), each layer in its train/eval mode.

    Raises:
        ValueError: ``amount`` outside (0, 1), a recurrent or attention layer (use
            :func:`prune_lstm_hidden` for an LSTM), no Linear/Conv layer, or no layer
            that can lose units without changing the output shape.
    """
    import torch_pruning as tp

    method = "structured_prune"
    check_model(model, method)
    amount = check_fraction(amount, "amount", method)
    example_inputs = example_tensor(example_inputs, method)
    if scope not in ("global", "layer"):
        raise ValueError(f"{method}: scope must be 'global' or 'layer', got {scope!r}")
    if norm not in (1, 2):
        raise ValueError(f"{method}: norm must be 1 or 2, got {norm!r}")
    reject(model, ATTENTION, method, "attention heads are not pruned by this method")
    reject(model, RECURRENT, method, "Torch-Pruning does not slice recurrent gates; use "
                                     "prune_lstm_hidden(lstm, consumer, amount) for an LSTM")
    require(model, STRUCTURED, method)
    names = dict(model.named_modules())
    unknown = [n for n in ignored_layers if n not in names]
    if unknown:
        raise ValueError(f"{method}: ignored_layers names no layer of the model: {unknown}")

    pruned = copy.deepcopy(model)
    modes = {m: m.training for m in pruned.modules()}
    pruned.eval()  # tracing runs forward: BatchNorm statistics must not move
    pruned_names = dict(pruned.named_modules())
    shapes_before = _output_shapes(pruned, example_inputs)
    with torch.enable_grad():
        graph = tp.DependencyGraph().build_dependency(pruned, example_inputs, verbose=False)
        ignored = _output_layers(pruned, example_inputs, graph) | {pruned_names[n] for n in ignored_layers}
        candidates = [m for m in pruned.modules() if isinstance(m, STRUCTURED) and m not in ignored]
        if not candidates:
            raise ValueError(f"{method}: every Linear/Conv layer of the model produces its output or is ignored "
                             f"(layers: {[n for n, m in pruned.named_modules() if isinstance(m, STRUCTURED)]}); "
                             f"no unit can be removed without changing the output shape")
        sizes = {id(m): _n_params(m) for m in candidates}
        pruner = tp.pruner.MetaPruner(
            pruned, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=norm),
            pruning_ratio=amount, global_pruning=(scope == "global"), ignored_layers=list(ignored))
        pruner.step()
    if all(_n_params(m) == sizes[id(m)] for m in candidates):
        raise ValueError(f"{method}: amount={amount} removes no unit (layers too narrow for this fraction)")
    if _output_shapes(pruned, example_inputs) != shapes_before:
        raise ValueError(f"{method}: pruning changed the output shape; pass the head's name in ignored_layers")
    for m, training in modes.items():
        m.training = training
    return pruned


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def prune_lstm_hidden(lstm: nn.LSTM, consumer: nn.Linear, amount: float) -> tuple[nn.LSTM, nn.Linear]:
    """Remove the ``amount`` fraction of an LSTM's hidden units, slicing the Linear that reads it.

    A hidden unit ``j`` of layer ``l`` (per direction) owns row ``j`` of each of the four
    gate blocks (i, f, g, o) of ``weight_ih``, ``weight_hh`` and both biases, column ``j``
    of ``weight_hh``, and the column that reads it in the next layer's ``weight_ih`` (or in
    ``consumer.weight`` after the last layer). Its score is the L2 norm of all of these;
    the ``round(amount * hidden_size)`` lowest-scoring units of each layer and direction go.
    A unit whose weights are all zero outputs ``h = 0`` forever, so removing it leaves the
    outputs unchanged.

    Args:
        lstm: an ``nn.LSTM`` (any ``num_layers``, uni- or bidirectional, no ``proj_size``).
        consumer: the ``nn.Linear`` applied to the LSTM's output features (last step or all
            steps, or ``h_n`` of the last layer); ``in_features`` must be ``hidden_size``
            (times 2 if bidirectional).
        amount: fraction in (0, 1) of hidden units to remove.

    Returns:
        ``(new_lstm, new_consumer)``, copies with ``hidden_size`` reduced; the inputs are not
        changed. Put them back into the model, e.g. ``model.lstm, model.head = prune_lstm_hidden(...)``.

    Raises:
        ValueError: not an LSTM / Linear, a projection, mismatched sizes, ``amount`` outside
            (0, 1) or one that would remove every unit.
    """
    method = "prune_lstm_hidden"
    if not isinstance(lstm, nn.LSTM):
        raise ValueError(f"{method}: lstm must be an nn.LSTM, got layer {type(lstm).__name__}")
    if not isinstance(consumer, nn.Linear):
        raise ValueError(f"{method}: consumer must be an nn.Linear, got layer {type(consumer).__name__}")
    amount = check_fraction(amount, "amount", method)
    if lstm.proj_size:
        raise ValueError(f"{method}: layer LSTM with proj_size={lstm.proj_size} is not supported")
    hidden, dirs, layers = lstm.hidden_size, 2 if lstm.bidirectional else 1, lstm.num_layers
    if consumer.in_features != hidden * dirs:
        raise ValueError(f"{method}: consumer Linear has in_features={consumer.in_features}, the LSTM outputs "
                         f"{hidden * dirs} features")
    keep_n = hidden - round(amount * hidden)
    if keep_n < 1 or keep_n == hidden:
        raise ValueError(f"{method}: amount={amount} of hidden_size={hidden} would keep {keep_n} units")
    suffixes = ["", "_reverse"][:dirs]
    p = {name: param.detach() for name, param in lstm.named_parameters()}

    def outgoing(layer: int, d: int) -> torch.Tensor:  # (hidden,) squared norms of the columns reading unit j
        cols = slice(d * hidden, (d + 1) * hidden)
        if layer + 1 < layers:
            return sum(p[f"weight_ih_l{layer + 1}{s}"][:, cols].pow(2).sum(0) for s in suffixes)
        return consumer.weight.detach()[:, cols].pow(2).sum(0)

    keep: list[list[torch.Tensor]] = []
    for layer in range(layers):
        keep.append([])
        for d, s in enumerate(suffixes):
            score = outgoing(layer, d) + p[f"weight_hh_l{layer}{s}"].pow(2).sum(0)
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                name = f"{kind}_l{layer}{s}"
                if name in p:
                    t = p[name].reshape(4, hidden, -1)
                    score = score + t.pow(2).sum(dim=(0, 2))
            keep[layer].append(torch.sort(torch.topk(score, keep_n).indices).values)

    def feature_index(layer: int) -> torch.Tensor:  # features of layer's output that survive
        return torch.cat([keep[layer][d] + d * hidden for d in range(dirs)])

    new = copy.deepcopy(lstm)
    for layer in range(layers):
        for d, s in enumerate(suffixes):
            rows = torch.cat([keep[layer][d] + g * hidden for g in range(4)])
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                name = f"{kind}_l{layer}{s}"
                if name not in p:
                    continue
                t = p[name][rows]
                if kind == "weight_hh":
                    t = t[:, keep[layer][d]]
                elif kind == "weight_ih" and layer > 0:
                    t = t[:, feature_index(layer - 1)]
                setattr(new, name, nn.Parameter(t.clone(), requires_grad=p[name].requires_grad))
    new.hidden_size = keep_n
    new._init_flat_weights()
    head = copy.deepcopy(consumer)
    head.weight = nn.Parameter(consumer.weight.detach()[:, feature_index(layers - 1)].clone())
    head.in_features = keep_n * dirs
    return new, head
