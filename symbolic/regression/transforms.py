"""Output transforms: solve ``g(x) = forward(y)`` instead of ``y(x)``, then restore ``y = inverse(g)``.

AI Feynman (Udrescu & Tegmark 2020) tries simple functions of the target before a
brute-force or polynomial fit: ``y = sqrt(x0**2 + x1**2)`` is hard, ``y**2`` is a
polynomial. An :class:`OutputTransform` carries the numeric ``forward`` map applied to the
data, the symbolic ``inverse`` that turns the solved ``g`` back into ``y``, and a domain
test :meth:`OutputTransform.applies` that says whether the round trip
``inverse(forward(y)) == y`` holds on the given data (principal branches only: ``sin`` needs
``|y| <= pi/2`` so that ``asin`` undoes it, ``log`` needs ``y > 0`` and so on).

Even transforms (``square``, ``inverse_square``) lose the sign of ``y``. Each carries a
``sign`` (+1 by default, which requires ``y >= 0`` resp. ``y > 0``); for data that are
negative everywhere, :meth:`OutputTransform.oriented` returns the copy with ``sign=-1``,
whose inverse is ``-sqrt(g)`` resp. ``-1/sqrt(g)``. Data that change sign are outside the
domain of both.

numpy and sympy only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np
import sympy

__all__ = ["OUTPUT_TRANSFORMS", "OutputTransform", "output_transforms"]


@dataclass(frozen=True)
class OutputTransform:
    """One invertible transform of the target ``y``.

    Attributes:
        name: key in :data:`OUTPUT_TRANSFORMS`.
        forward: numeric map ``y -> g`` applied to target arrays (elementwise).
        backward: symbolic map ``g -> y`` for the principal branch, *without* the sign
            (use :meth:`inverse`, which applies ``sign``).
        backward_values: the same map on arrays (``g -> y``), without the sign.
        domain: predicate on the target array: ``True`` when every value lies where the
            round trip holds (finiteness of ``forward(y)`` is checked by :meth:`applies`).
        even: ``True`` when ``forward(-y) == forward(y)``, so the sign must be recorded.
        sign: +1 or -1; only meaningful for even transforms (the sign of ``y``).
        description: a short human-readable formula, e.g. ``"g = y**2"``.
    """

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[sympy.Expr], sympy.Expr]
    backward_values: Callable[[np.ndarray], np.ndarray]
    domain: Callable[[np.ndarray], bool]
    even: bool = False
    sign: int = 1
    description: str = ""

    def __post_init__(self) -> None:
        """Check that ``sign`` is +1 or -1 (and +1 for transforms that are not even)."""
        if self.sign not in (1, -1):
            raise ValueError(f"sign must be +1 or -1, got {self.sign!r}")
        if self.sign == -1 and not self.even:
            raise ValueError(f"transform {self.name!r} is not even; sign must be +1")

    def inverse(self, expr: sympy.Expr) -> sympy.Expr:
        """``y`` as a sympy expression of the solved ``g`` (``expr``: a sympy expression or a
        plain int/float; strings are refused, never parsed), sign included."""
        if isinstance(expr, bool) or not isinstance(expr, (sympy.Basic, int, float)):
            raise TypeError(f"expr must be a sympy expression or a number, got {type(expr).__name__}")
        if not isinstance(expr, sympy.Basic):
            expr = sympy.Integer(expr) if isinstance(expr, int) else sympy.Float(expr)
        out = self.backward(expr)
        return -out if self.sign == -1 else out

    def inverse_values(self, g: np.ndarray) -> np.ndarray:
        """``y`` from numeric ``g`` values (array in, float array out), sign included."""
        with np.errstate(all="ignore"):
            out = np.asarray(self.backward_values(np.asarray(g, dtype=float)), dtype=float)
        return -out if self.sign == -1 else out

    def applies(self, y: np.ndarray) -> bool:
        """Whether the transform can be used on targets ``y`` (1-D array).

        True when every value of ``y`` is in the domain for this transform and its sign
        (so that ``inverse(forward(y)) == y``) and ``forward(y)`` is finite everywhere.
        An empty or non-finite ``y`` never applies.
        """
        y = np.asarray(y, dtype=float)
        if y.size == 0 or not np.all(np.isfinite(y)):
            return False
        if self.even and np.any(self.sign * y < 0):
            return False
        if not self.domain(y):
            return False
        with np.errstate(all="ignore"):
            g = np.asarray(self.forward(y), dtype=float)
        return bool(np.all(np.isfinite(g)))

    def oriented(self, y: np.ndarray) -> OutputTransform:
        """This transform with ``sign`` set from the data ``y``.

        For an even transform and ``y <= 0`` everywhere (and not all zero), returns the copy
        with ``sign=-1``; otherwise returns ``self`` unchanged. Check :meth:`applies` on
        the result.
        """
        y = np.asarray(y, dtype=float)
        if self.even and y.size and np.all(y <= 0) and np.any(y < 0):
            return replace(self, sign=-1)
        return self


# --- numeric pieces (module-level functions so that transforms pickle) -----------------


def _sqrt(y: np.ndarray) -> np.ndarray:
    return np.sqrt(y)


def _square(y: np.ndarray) -> np.ndarray:
    return y**2


def _inv(y: np.ndarray) -> np.ndarray:
    return 1.0 / y


def _inv_square(y: np.ndarray) -> np.ndarray:
    return 1.0 / y**2


def _inv_sqrt(y: np.ndarray) -> np.ndarray:
    return 1.0 / np.sqrt(y)


def _sqrt_abs(g: np.ndarray) -> np.ndarray:
    return np.sqrt(g)


def _inv_sqrt_values(g: np.ndarray) -> np.ndarray:
    return 1.0 / np.sqrt(g)


def _inv_square_values(g: np.ndarray) -> np.ndarray:
    return 1.0 / g**2


def _any(y: np.ndarray) -> bool:
    return True


def _nonnegative(y: np.ndarray) -> bool:
    return bool(np.all(y >= 0))


def _positive(y: np.ndarray) -> bool:
    return bool(np.all(y > 0))


def _nonzero(y: np.ndarray) -> bool:
    return bool(np.all(y != 0))


def _unit(y: np.ndarray) -> bool:
    return bool(np.all(np.abs(y) <= 1))


def _half_pi_closed(y: np.ndarray) -> bool:
    return bool(np.all(np.abs(y) <= np.pi / 2))


def _half_pi_open(y: np.ndarray) -> bool:
    return bool(np.all(np.abs(y) < np.pi / 2))


def _zero_to_pi(y: np.ndarray) -> bool:
    return bool(np.all((y >= 0) & (y <= np.pi)))


# --- symbolic inverses ------------------------------------------------------------------


def _s_square(g: sympy.Expr) -> sympy.Expr:
    return g**2


def _s_sqrt(g: sympy.Expr) -> sympy.Expr:
    return sympy.sqrt(g)


def _s_exp(g: sympy.Expr) -> sympy.Expr:
    return sympy.exp(g)


def _s_log(g: sympy.Expr) -> sympy.Expr:
    return sympy.log(g)


def _s_inv(g: sympy.Expr) -> sympy.Expr:
    return 1 / g


def _s_inv_sqrt(g: sympy.Expr) -> sympy.Expr:
    return 1 / sympy.sqrt(g)


def _s_inv_square(g: sympy.Expr) -> sympy.Expr:
    return 1 / g**2


def _s_asin(g: sympy.Expr) -> sympy.Expr:
    return sympy.asin(g)


def _s_acos(g: sympy.Expr) -> sympy.Expr:
    return sympy.acos(g)


def _s_atan(g: sympy.Expr) -> sympy.Expr:
    return sympy.atan(g)


def _s_sin(g: sympy.Expr) -> sympy.Expr:
    return sympy.sin(g)


def _s_cos(g: sympy.Expr) -> sympy.Expr:
    return sympy.cos(g)


def _s_tan(g: sympy.Expr) -> sympy.Expr:
    return sympy.tan(g)


def _build() -> dict[str, OutputTransform]:
    rows = [
        # name, forward, backward (sympy), backward (numpy), domain, even, description
        ("sqrt", _sqrt, _s_square, _square, _nonnegative, False, "g = sqrt(y), y >= 0"),
        ("square", _square, _s_sqrt, _sqrt_abs, _any, True, "g = y**2, y = sign*sqrt(g)"),
        ("log", np.log, _s_exp, np.exp, _positive, False, "g = log(y), y > 0"),
        ("exp", np.exp, _s_log, np.log, _any, False, "g = exp(y)"),
        ("inverse", _inv, _s_inv, _inv, _nonzero, False, "g = 1/y, y != 0"),
        ("sin", np.sin, _s_asin, np.arcsin, _half_pi_closed, False, "g = sin(y), |y| <= pi/2"),
        ("cos", np.cos, _s_acos, np.arccos, _zero_to_pi, False, "g = cos(y), 0 <= y <= pi"),
        ("tan", np.tan, _s_atan, np.arctan, _half_pi_open, False, "g = tan(y), |y| < pi/2"),
        ("arcsin", np.arcsin, _s_sin, np.sin, _unit, False, "g = asin(y), |y| <= 1"),
        ("arccos", np.arccos, _s_cos, np.cos, _unit, False, "g = acos(y), |y| <= 1"),
        ("arctan", np.arctan, _s_tan, np.tan, _any, False, "g = atan(y)"),
        ("inverse_square", _inv_square, _s_inv_sqrt, _inv_sqrt_values, _nonzero, True, "g = 1/y**2"),
        ("inverse_sqrt", _inv_sqrt, _s_inv_square, _inv_square_values, _positive, False, "g = 1/sqrt(y), y > 0"),
    ]
    return {
        name: OutputTransform(
            name=name,
            forward=fwd,
            backward=bwd,
            backward_values=bwd_values,
            domain=dom,
            even=even,
            description=desc,
        )
        for name, fwd, bwd, bwd_values, dom, even, desc in rows
    }


OUTPUT_TRANSFORMS: dict[str, OutputTransform] = _build()
"""All output transforms by name (even ones with ``sign=+1``; see :meth:`OutputTransform.oriented`)."""


def output_transforms(names: Iterable[str] | str | None = None) -> list[OutputTransform]:
    """Select output transforms by name.

    Args:
        names: names from :data:`OUTPUT_TRANSFORMS` (a single string counts as one name);
            ``None`` selects all, in the order of :data:`OUTPUT_TRANSFORMS`.

    Returns:
        The transforms, in the order given (duplicates dropped).

    Raises:
        ValueError: naming the unknown names and listing the valid ones.
    """
    if names is None:
        return list(OUTPUT_TRANSFORMS.values())
    if isinstance(names, str):
        names = [names]
    names = list(dict.fromkeys(names))
    unknown = [n for n in names if n not in OUTPUT_TRANSFORMS]
    if unknown:
        raise ValueError(f"unknown output transform(s) {unknown}; valid names: {', '.join(OUTPUT_TRANSFORMS)}")
    return [OUTPUT_TRANSFORMS[n] for n in names]
