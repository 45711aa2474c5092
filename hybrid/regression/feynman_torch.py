"""A sympy formula as a ``torch.nn.Module`` (what ``FeynmanRegressor.pytorch()`` returns).

Imported only when asked for: the rest of the regression pillar does not need torch at
import time. The module walks the expression tree on each call (formulas are small);
every float constant of the formula is a trainable ``nn.Parameter``, exact constants
(integers, rationals, ``pi``) stay fixed, as in PySR's torch export.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy
import torch
from torch import nn

#: sympy function -> torch function.
_FUNCTIONS = {
    sympy.sin: torch.sin, sympy.cos: torch.cos, sympy.tan: torch.tan,
    sympy.asin: torch.asin, sympy.acos: torch.acos, sympy.atan: torch.atan,
    sympy.sinh: torch.sinh, sympy.cosh: torch.cosh, sympy.tanh: torch.tanh,
    sympy.asinh: torch.asinh, sympy.acosh: torch.acosh, sympy.atanh: torch.atanh,
    sympy.exp: torch.exp, sympy.log: torch.log, sympy.Abs: torch.abs, sympy.sign: torch.sign,
}  # fmt: skip


class FormulaModule(nn.Module):
    """``forward(X)`` evaluates ``expression`` on ``X`` ``(n, d)`` and returns ``(n,)``.

    Args:
        expression: the formula.
        symbols: the symbols of ``X``'s columns, in order.

    Attributes:
        constants: the formula's float constants as trainable parameters (in the order of
            ``sympy.preorder_traversal``).

    Raises:
        ValueError: if the formula has a free symbol not in ``symbols`` or a function torch
            has no counterpart for here.
    """

    def __init__(self, expression: sympy.Expr, symbols: Sequence[sympy.Symbol]):
        super().__init__()
        self.expression = expression
        self.symbols = tuple(symbols)
        extra = expression.free_symbols - set(self.symbols)
        if extra:
            raise ValueError(f"expression has symbols {sorted(map(str, extra))} that are not columns of X")
        floats = []
        for node in sympy.preorder_traversal(expression):
            if isinstance(node, sympy.Float) and node not in floats:
                floats.append(node)
            if isinstance(node, sympy.Function) and type(node) not in _FUNCTIONS:
                raise ValueError(f"expression: no torch counterpart for {type(node).__name__}")
        self._float_index = {f: k for k, f in enumerate(floats)}
        self.constants = nn.ParameterList([nn.Parameter(torch.tensor(float(f), dtype=torch.float64)) for f in floats])

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Evaluate on ``X`` ``(n, d)`` (any float dtype and device); returns ``(n,)``."""
        if X.ndim != 2 or X.shape[1] != len(self.symbols):
            raise ValueError(f"X must have shape (n, {len(self.symbols)}), got {tuple(X.shape)}")
        columns = {s: X[:, k] for k, s in enumerate(self.symbols)}
        out = self._eval(self.expression, columns, X)
        return torch.zeros(X.shape[0], dtype=X.dtype, device=X.device) + out

    def _eval(self, e: sympy.Basic, columns: dict, X: torch.Tensor):
        if isinstance(e, sympy.Symbol):
            return columns[e]
        if isinstance(e, sympy.Float):
            return self.constants[self._float_index[e]].to(dtype=X.dtype, device=X.device)
        if e.is_number and e.is_extended_real:
            return float(e)
        if isinstance(e, sympy.Add):
            total = self._eval(e.args[0], columns, X)
            for a in e.args[1:]:
                total = total + self._eval(a, columns, X)
            return total
        if isinstance(e, sympy.Mul):
            prod = self._eval(e.args[0], columns, X)
            for a in e.args[1:]:
                prod = prod * self._eval(a, columns, X)
            return prod
        if isinstance(e, sympy.Pow):
            base = self._eval(e.base, columns, X)
            if e.exp == sympy.Rational(1, 2):
                return torch.sqrt(torch.as_tensor(base, dtype=X.dtype, device=X.device))
            return torch.as_tensor(base, dtype=X.dtype, device=X.device) ** self._eval(e.exp, columns, X)
        fn = _FUNCTIONS.get(type(e))
        if fn is not None and len(e.args) == 1:
            return fn(torch.as_tensor(self._eval(e.args[0], columns, X), dtype=X.dtype, device=X.device))
        raise ValueError(f"expression: cannot evaluate {e} in torch")

    def extra_repr(self) -> str:
        """The formula, shown by ``print(module)``."""
        return f"expression={self.expression}"
