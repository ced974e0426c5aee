"""Half-space trees, vectorized: one model per entity over the residuals of its KPIs.

river's ``HalfSpaceTrees`` scores one sample at a time in Python; here the
trees' shape (split dimension and value per node, drawn from the seed) is
shared, every entity keeps its own node masses, and one step walks all
entities down all trees with a few array operations per level. The features
are the entity's KPI residuals from a Holt baseline, in the bad direction,
squashed into [0, 1): the trees learn which combinations are usual for that
entity. Masses are counted over a window and swapped into the reference at
its end (Tan, Ting & Liu, 2011).
"""

from __future__ import annotations

import numpy as np

from detectors.baseline import HoltBaseline


def _tree_shape(rng: np.random.Generator, n_trees: int, height: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Split dimension and value of every internal node (heap order), in a randomly perturbed work space."""
    inner = 2**height - 1
    dims = rng.integers(0, k, size=(n_trees, inner))
    splits = np.empty((n_trees, inner))
    s = rng.uniform(0.0, 1.0, size=(n_trees, k))
    half = 2.0 * np.maximum(s, 1.0 - s)
    for t in range(n_trees):
        lo, hi = (s[t] - half[t]).copy(), (s[t] + half[t]).copy()
        stack = [(0, lo, hi)]
        while stack:
            i, lo_i, hi_i = stack.pop()
            if i >= inner:
                continue
            d = dims[t, i]
            mid = splits[t, i] = 0.5 * (lo_i[d] + hi_i[d])
            left_hi, right_lo = hi_i.copy(), lo_i.copy()
            left_hi[d], right_lo[d] = mid, mid
            stack += [(2 * i + 1, lo_i, left_hi), (2 * i + 2, right_lo, hi_i)]
    return dims, splits


def _walk(u: np.ndarray, dims: np.ndarray, splits: np.ndarray, height: int) -> np.ndarray:
    """Node index at each depth (root included) of every entity in every tree: N × trees × (height+1)."""
    n, trees = u.shape[0], dims.shape[0]
    rows, tidx = np.arange(n)[:, None], np.arange(trees)[None, :]
    node = np.zeros((n, trees), dtype=np.int64)
    path = [node]
    for _ in range(height):
        right = u[rows, dims[tidx, node]] > splits[tidx, node]
        node = 2 * node + 1 + right
        path.append(node)
    return np.stack(path, axis=-1)


class HalfSpaceTrees:
    """Multivariate anomaly score of each entity from its KPIs together, vectorized over N entities.

    The score of KPI ``k`` of entity ``n`` is the entity's half-space-trees
    anomaly (0..1: how little reference mass its KPI combination falls in)
    times the KPI's own residual z in its bad direction: an unusual
    combination raises the KPIs that moved, in the direction that hurts.

    Parameters
    ----------
    directions
        Length-K array: +1 where higher values are bad, -1 where lower values are bad, 0 where both are.
    n_trees, height, window, size_limit
        Trees, their depth, steps per mass window, and the mass below which a
        walk stops (river's parameters; ``size_limit`` as a share of ``window``).
    scale
        A residual of ``scale`` sigmas maps to 0.5 in the trees' [0, 1) space.
    warmup, seed
        Updates before scoring (at least one full window is also needed), and the trees' seed.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> d = HalfSpaceTrees(directions=np.array([1.0, 1.0]), window=20, warmup=20)
    >>> for _ in range(100):
    ...     d.learn_many(10.0 + rng.normal(size=(1, 2)))
    >>> usual = d.score_many(np.array([[10.5, 10.5]]))
    >>> unusual = d.score_many(np.array([[14.0, 10.0]]))
    >>> bool(unusual[0, 0] > 4 * usual.max())
    True
    """

    def __init__(self, *, directions: np.ndarray, n_trees: int = 10, height: int = 5, window: int = 60,
                 size_limit: float = 0.1, scale: float = 4.0, warmup: int = 60, seed: int = 0) -> None:
        self.directions = np.asarray(directions, dtype=float)
        self.n_trees, self.height, self.window, self.size_limit = n_trees, height, window, size_limit
        self.scale, self.warmup, self.seed = scale, warmup, seed

    def learn_many(self, X: np.ndarray, mask: np.ndarray | None = None) -> None:
        X = np.asarray(X, dtype=float)
        if not hasattr(self, "_base"):
            self._init_state(X)
            return
        learn = np.ones(X.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        path = _walk(self._features(X), self._dims, self._splits, self.height)
        rows = np.flatnonzero(learn.all(axis=1))  # an entity learns when none of its KPIs is held back
        tidx = np.arange(self.n_trees)[None, :, None]
        self._latest[rows[:, None, None], tidx, path[rows]] += 1.0
        self._steps += 1
        if self._steps % self.window == 0:
            self._ref, self._latest = self._latest, np.zeros_like(self._latest)
        self._base.learn_many(X, mask)

    def score_many(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if not hasattr(self, "_base") or self._steps < self.window:
            return np.zeros(X.shape)
        z = self._oriented(X)
        mass = np.take_along_axis(self._ref, _walk(self._squash(z), self._dims, self._splits, self.height),
                                  axis=-1)
        reached = np.cumprod(mass >= self.size_limit * self.window, axis=-1)
        reached = np.concatenate([np.ones_like(reached[..., :1]), reached[..., :-1]], axis=-1)
        depth_weight = 2.0 ** np.arange(self.height + 1)
        seen = (mass * reached * depth_weight).sum(axis=(1, 2)) / self._max_mass
        return (1.0 - seen)[:, None] * z

    def _features(self, X: np.ndarray) -> np.ndarray:
        return self._squash(self._oriented(X))

    def _squash(self, z: np.ndarray) -> np.ndarray:
        return z / (z + self.scale)

    def _oriented(self, X: np.ndarray) -> np.ndarray:
        return self._base.score_many(X).astype(float)

    def _init_state(self, X: np.ndarray) -> None:
        n, k = X.shape
        self._base = HoltBaseline(directions=self.directions, warmup=self.warmup)
        self._base.learn_many(X)
        self._dims, self._splits = _tree_shape(np.random.default_rng(self.seed), self.n_trees, self.height, k)
        nodes = 2 ** (self.height + 1) - 1
        self._ref = np.zeros((n, self.n_trees, nodes), dtype=np.float32)
        self._latest = np.zeros((n, self.n_trees, nodes), dtype=np.float32)
        self._steps = 1
        self._max_mass = self.n_trees * self.window * float(2 ** (self.height + 1) - 1)
