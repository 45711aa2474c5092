"""How :func:`~hybrid.symbolic.regression.library.fit_library` chooses its columns: a beam search of
orthogonal forward selection and backward elimination from larger sets, over unit-norm
library columns.

The search constants (``BEAM_WIDTH``, ``FORWARD_COLUMNS``, ...) are re-exported by
:mod:`hybrid.symbolic.regression.library`. numpy only.
"""

from __future__ import annotations

import numpy as np

# Partial supports kept at each step of the beam search.
BEAM_WIDTH = 10
# Single columns kept after the first step: a wider first step is cheap, and the right first
# column is often far down the list (``x0**2 + 3*x1`` is best matched by ``x0*sqrt(x1)``).
FIRST_BEAM_WIDTH = 20
# ... and the best few of each group of columns using the same input variables.
FIRST_PER_GROUP = 2
# Columns taken by greedy forward selection before backward elimination (at least; or
# 8 per allowed term).
FORWARD_COLUMNS = 48
# Backward elimination starts from at most this many columns (it costs a small QR per column);
# the pool for additive models is every single-factor column plus this many products.
MAX_ELIMINATION_COLUMNS = 64
ELIMINATION_PRODUCTS = 16
# A column whose part orthogonal to the current support is below this (unit-norm columns)
# is taken as already in its span.
_SPAN_EPS = 1e-6


def _t_matvec(Z: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Z.T @ v`` without BLAS: a multithreaded BLAS on a loaded machine can be 100x slower
    on these mid-sized products than this single-threaded loop."""
    return np.einsum("ij,i->j", Z, v)


class _State:
    """A partial support in forward selection: an orthonormal basis ``Q`` of its (centred,
    unit-norm) columns and the residual of the centred target. :meth:`proj` gives each
    library column's squared norm inside that span (``sum((Q.T @ Z)**2, axis=0)``),
    computed on first use (a pass over the library; leaves of the search never need it)."""

    __slots__ = ("support", "Q", "resid", "_parent", "_proj")

    def __init__(self, support: frozenset[int], Q: np.ndarray, resid: np.ndarray, parent: _State | None = None):
        self.support = support
        self.Q = Q
        self.resid = resid
        self._parent = parent
        self._proj: np.ndarray | None = None

    def proj(self, Z: np.ndarray) -> np.ndarray:
        if self._proj is None:
            if self._parent is None:
                self._proj = np.zeros(Z.shape[1])
            else:
                self._proj = self._parent.proj(Z) + _t_matvec(Z, self.Q[:, -1]) ** 2
                self._parent = None
        return self._proj


def _candidate_supports(
    Z: np.ndarray,
    y: np.ndarray,
    rms_y: float,
    tolerance: float,
    depth: int,
    costs: np.ndarray,
    groups: np.ndarray,
    n_factors: np.ndarray,
):
    """Yield ``(k, supports)`` for ``k = 0 .. depth``: the supports of ``k`` columns (plus the
    constant) found to fit, smallest residual first (possibly none).

    A support fits if the RMS of its least-squares residual on the selection samples is
    within ``tolerance * rms_y`` (``rms_y``: the target's RMS on all the data). Candidates
    come from a beam search (:func:`_beam_search`) and from forward selection of many
    columns followed by backward elimination (:func:`_forward_backward`); the two fail on
    different problems. Supports whose residual is negligible (a thousandth of the limit)
    are ordered by total cost (``costs``, per column), the rest by residual.
    """
    n_sel = Z.shape[0]
    limit = tolerance * rms_y * np.sqrt(n_sel)
    r0 = y - y.mean()
    backward = _forward_backward(Z, r0, limit, depth, max(FORWARD_COLUMNS, 8 * depth))
    # Additive models, with perhaps a few products: elimination from all single-factor
    # columns plus the products that best match the target alone (or, when that is too many,
    # from those of them chosen by forward selection).
    single = np.flatnonzero(n_factors == 1)
    products = np.flatnonzero(n_factors > 1)
    if products.size:
        products = products[np.argsort(-(_t_matvec(Z[:, products], r0) ** 2), kind="stable")[:ELIMINATION_PRODUCTS]]
    pool = np.concatenate([single, products])
    if pool.size <= min(MAX_ELIMINATION_COLUMNS, n_sel - 2):
        additive = _all_then_backward(Z, r0, pool, limit, depth)
    else:
        additive = {
            k: [(err, frozenset(int(pool[j]) for j in sup)) for err, sup in fits]
            for k, fits in _forward_backward(Z[:, pool], r0, limit, depth, MAX_ELIMINATION_COLUMNS).items()
        }
    for k, fits in additive.items():
        backward.setdefault(k, []).extend(fits)
    beam = _beam_search(Z, r0, limit, depth, groups)
    for k in range(depth + 1):
        found = next(beam, []) + backward.get(k, [])
        # Residuals far below the limit are rounding noise: there the cheaper support goes first.
        found.sort(key=lambda f: (max(f[0], 1e-3 * limit), int(costs[list(f[1])].sum()), sorted(f[1])))
        yield k, list(dict.fromkeys(support for _, support in found))


def _beam_search(Z: np.ndarray, r0: np.ndarray, limit: float, depth: int, groups: np.ndarray):
    """Beam search of orthogonal forward selection from the centred target ``r0``.

    Yields, for ``k = 0, 1, ...`` up to ``depth`` (stopping early when no branch is left),
    the ``(residual norm, support)`` of the ``k``-column supports whose residual norm is
    within ``limit``. Each step scores every column for every kept support by the residual
    it would leave, ``|r|^2 - (z.r)^2 / |z_perp|^2`` (order-recursive matching pursuit),
    keeps the :data:`BEAM_WIDTH` best new supports that do not fit yet, and sets aside (up
    to :data:`BEAM_WIDTH`) those that do. The first step keeps more: the
    :data:`FIRST_BEAM_WIDTH` best columns, and the :data:`FIRST_PER_GROUP` best of each
    group (``groups``: the set of input variables a column uses), up to twice
    :data:`FIRST_BEAM_WIDTH` in all, so that additive models (``x0 + x1``, whose terms
    correlate less with ``y`` than products such as ``x0*sqrt(x1)`` do) can start.
    """
    n_sel, m = Z.shape
    yield [(float(np.linalg.norm(r0)), frozenset())] if np.linalg.norm(r0) <= limit else []
    root = _State(frozenset(), np.zeros((n_sel, 0)), r0)
    if depth < 1:
        return
    children = [(root, j) for j in _first_columns(_gains(Z, root), groups)]
    for step in range(depth):
        seen: set[frozenset[int]] = set()
        fitting: list[tuple[float, frozenset[int]]] = []
        beam: list[_State] = []
        width = len(children) if step == 0 else BEAM_WIDTH
        for parent, j in children:
            if len(beam) >= width:  # (candidates that fit come first: smallest residual)
                break
            support = parent.support | {j}
            if support in seen:
                continue
            seen.add(support)
            child = _extend(parent, Z, j, support)
            err = float(np.linalg.norm(child.resid))
            if err <= limit:
                if len(fitting) < BEAM_WIDTH:
                    fitting.append((err, support))
            else:
                beam.append(child)
        fitting.sort(key=lambda f: f[0])
        yield fitting
        if not beam or step + 1 == depth:
            return
        # Score every (state, column) by the residual it would leave.
        candidates: list[tuple[float, int, int]] = []
        for s, state in enumerate(beam):
            rr = float(state.resid @ state.resid)
            gain = _gains(Z, state)
            top = np.argsort(-gain, kind="stable")[: 2 * BEAM_WIDTH]
            candidates.extend((max(rr - float(gain[j]), 0.0), s, int(j)) for j in top if gain[j] >= 0)
        candidates.sort(key=lambda c: (c[0], c[2]))
        children = [(beam[s], j) for _, s, j in candidates]


def _first_columns(gain: np.ndarray, groups: np.ndarray) -> list[int]:
    """The first step's columns: see :func:`_beam_search`. Best first."""
    order = [int(j) for j in np.argsort(-gain, kind="stable") if gain[j] >= 0]
    picked = order[:FIRST_BEAM_WIDTH]
    taken = set(picked)
    per_group: dict[int, int] = {}
    extra: list[tuple[int, int]] = []  # (rank within its group, position in order)
    for pos, j in enumerate(order):
        g = int(groups[j])
        rank = per_group.get(g, 0)
        if rank < FIRST_PER_GROUP:
            per_group[g] = rank + 1
            if j not in taken:
                extra.append((rank, pos))
    extra.sort()
    picked += [order[pos] for _, pos in extra[:FIRST_BEAM_WIDTH]]
    return sorted(picked, key=lambda j: -gain[j])


def _gains(Z: np.ndarray, state: _State) -> np.ndarray:
    """For each column, the drop in squared residual norm from adding it to ``state``'s
    support (``-1`` for columns in the support or in its span)."""
    perp2 = 1.0 - state.proj(Z)
    corr = _t_matvec(Z, state.resid)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(perp2 > _SPAN_EPS**2, corr**2 / perp2, -1.0)
    if state.support:
        gain[list(state.support)] = -1.0
    return gain


def _forward_backward(
    Z: np.ndarray, r0: np.ndarray, limit: float, depth: int, n_forward: int
) -> dict[int, list[tuple[float, frozenset[int]]]]:
    """Greedy forward selection of up to ``n_forward`` columns, then backward elimination.

    Forward: orthogonal matching pursuit from the centred target ``r0`` until the residual
    is negligible (a thousandth of ``limit``) or ``n_forward`` columns (at most
    ``n_samples - 2``) are in. Then :func:`_backward`. With exact data, once the forward set
    contains the true columns, dropping any other column costs nothing, so elimination
    keeps the truth even where greedy selection is misled by correlated columns.
    """
    n_sel, m = Z.shape
    state = _State(frozenset(), np.zeros((n_sel, 0)), r0)
    order: list[int] = []
    for _ in range(min(n_forward, m, n_sel - 2)):
        gain = _gains(Z, state)
        j = int(np.argmax(gain))
        if gain[j] < 0:
            break
        order.append(j)
        state = _extend(state, Z, j, frozenset(order))
        if np.linalg.norm(state.resid) <= 1e-3 * limit:
            break
    return _backward(Z, r0, order, state.Q, limit, depth)


def _all_then_backward(
    Z: np.ndarray, r0: np.ndarray, columns: np.ndarray, limit: float, depth: int
) -> dict[int, list[tuple[float, frozenset[int]]]]:
    """Backward elimination (:func:`_backward`) from all of ``columns`` (fewer than the samples).

    The columns are orthonormalised in turn (Gram-Schmidt, twice), skipping any whose part
    outside the earlier ones is at rounding level. Used on the single-factor columns: a
    function of one variable can match another one's to 1e-8 on the data (``x`` from
    ``sqrt(x)``, ``log(x)``, ``1/x``, ...), too close for forward selection to tell apart,
    but not for elimination from the full set.
    """
    n_sel = Z.shape[0]
    Q = np.zeros((n_sel, len(columns)))
    kept: list[int] = []
    for j in columns:
        q = Z[:, j].copy()
        for _ in range(2):
            q -= Q[:, : len(kept)] @ (Q[:, : len(kept)].T @ q)
        norm = float(np.linalg.norm(q))
        if norm > 1e-12:  # (unit-norm columns)
            Q[:, len(kept)] = q / norm
            kept.append(int(j))
    return _backward(Z, r0, kept, Q[:, : len(kept)], limit, depth)


def _backward(
    Z: np.ndarray, r0: np.ndarray, order: list[int], Q: np.ndarray, limit: float, depth: int
) -> dict[int, list[tuple[float, frozenset[int]]]]:
    """Backward elimination from the columns ``order`` of ``Z``, with orthonormal basis ``Q``.

    Repeatedly drops the column whose removal raises the residual least
    (``coef_i^2 / [(A^T A)^-1]_ii``), all computed in the basis ``Q`` (a small QR of the kept
    columns' coordinates in it). Returns ``{k: [(residual norm, support)]}`` for the sizes
    ``k <= depth`` whose support fits within ``limit``.
    """
    out: dict[int, list[tuple[float, frozenset[int]]]] = {}
    if not order:
        return out
    # Z[:, order] = Q @ R and r0 = Q @ b + (a part outside the span, of squared norm outside2).
    R = np.einsum("ij,ik->jk", Q, Z[:, order])
    b = np.einsum("ij,i->j", Q, r0)
    outside = r0 - Q @ b
    outside2 = float(outside @ outside)
    kept = list(range(len(order)))
    while kept:
        Rk = R[:, kept]
        Qk, Tk = np.linalg.qr(Rk)
        try:
            coef = np.linalg.solve(Tk, Qk.T @ b)
            T_inv = np.linalg.inv(Tk)
        except np.linalg.LinAlgError:
            break
        if len(kept) <= depth:
            err = float(np.sqrt(outside2 + np.sum((b - Rk @ coef) ** 2)))
            if err <= limit:
                out[len(kept)] = [(err, frozenset(order[i] for i in kept))]
        cost = coef**2 / np.sum(T_inv**2, axis=1)  # [(A^T A)^-1]_ii = |row i of T^-1|^2
        del kept[int(np.argmin(cost))]
    return out


def _extend(parent: _State, Z: np.ndarray, j: int, support: frozenset[int]) -> _State:
    """``parent`` with column ``j`` added (Gram-Schmidt, twice for stability)."""
    q = Z[:, j].copy()
    for _ in range(2):
        if parent.Q.shape[1]:
            q -= parent.Q @ (parent.Q.T @ q)
    q /= np.linalg.norm(q)
    resid = parent.resid - (q @ parent.resid) * q
    return _State(support, np.column_stack([parent.Q, q]), resid, parent)
