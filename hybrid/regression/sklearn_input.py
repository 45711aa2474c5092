"""Input checks the regression estimators share, before scikit-learn's ``validate_data``."""

from __future__ import annotations


def check_lengths(X, y) -> None:
    """Raise ``ValueError`` naming ``y`` if ``X`` and ``y`` have different numbers of rows.

    scikit-learn's message ("inconsistent numbers of samples") does not say which argument
    is wrong; this one does. Inputs without a length (``None``, scalars) are left to
    scikit-learn's validation.

    Args:
        X: inputs (array-like or sparse: rows are read from ``shape`` where it has one).
        y: targets.
    """
    def rows(a) -> int | None:
        shape = getattr(a, "shape", None)
        if shape is not None:
            return int(shape[0]) if len(shape) else None
        try:
            return len(a)
        except TypeError:
            return None

    nx, ny = rows(X), rows(y)
    if nx is not None and ny is not None and nx != ny:
        raise ValueError(f"y must be 1-D with {nx} values to match X, got {ny} values")
