"""Learning curves: a metric against the number of labels, over several seeds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["LearningCurve"]


@dataclass(frozen=True)
class LearningCurve:
    """A metric measured after each labelling round, for one or more seeds.

    Returned by :func:`skrec.active.simulate`; build one by hand to compare
    curves from elsewhere.

    Parameters
    ----------
    labels : array-like of shape (n_points,)
        Number of oracle labels at each point, increasing; the first point is
        usually 0 (the model before any query).
    scores : array-like of shape (n_seeds, n_points)
        The metric at each point for each seed; NaN where it could not be
        computed (an unfitted model, no relevant test row left).
    seeds : tuple of int, default=()
        The seed of each row of ``scores``.
    metric : str, default="ndcg@10"
        Name of the metric, used as axis label.
    name : str or None, default=None
        Name of the strategy, used as legend entry.
    round_times : array-like of shape (n_seeds, n_points - 1) or None, default=None
        Wall-clock seconds of each query + teach round.

    Attributes
    ----------
    mean : ndarray of shape (n_points,)
        Mean over seeds (NaN-aware).
    std : ndarray of shape (n_points,)
        Standard deviation over seeds (0 with one seed).

    Examples
    --------
    >>> from skrec.active import LearningCurve
    >>> curve = LearningCurve(labels=[0, 10, 20], scores=[[0.1, 0.2, 0.3], [0.1, 0.3, 0.3]])
    >>> curve.mean.round(2).tolist()
    [0.1, 0.25, 0.3]
    >>> round(curve.auc(), 3)
    0.225
    >>> curve.labels_to_reach(0.25)
    10
    """

    labels: np.ndarray
    scores: np.ndarray
    seeds: tuple = ()
    metric: str = "ndcg@10"
    name: str | None = None
    round_times: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        labels = np.asarray(self.labels, dtype=np.int64).ravel()
        scores = np.atleast_2d(np.asarray(self.scores, dtype=np.float64))
        if scores.shape[1] != len(labels):
            raise ValueError(
                f"scores has {scores.shape[1]} points per seed but labels has {len(labels)}"
            )
        if len(labels) and np.any(np.diff(labels) < 0):
            raise ValueError("labels must be non-decreasing")
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "seeds", tuple(self.seeds) or tuple(range(len(scores))))
        if self.round_times is not None:
            object.__setattr__(self, "round_times", np.atleast_2d(np.asarray(self.round_times)))

    @property
    def mean(self) -> np.ndarray:
        return self._over_seeds(np.nanmean)

    @property
    def std(self) -> np.ndarray:
        return self._over_seeds(np.nanstd)

    def _over_seeds(self, reduce) -> np.ndarray:
        # Points with no finite value stay NaN without numpy's "empty slice" warning.
        ok = np.isfinite(self.scores).any(axis=0)
        out = np.full(self.scores.shape[1], np.nan)
        out[ok] = reduce(self.scores[:, ok], axis=0)
        return out

    def auc(self, normalize: bool = True) -> float:
        """Area under the mean curve (trapezoidal rule over ``labels``).

        Parameters
        ----------
        normalize : bool, default=True
            Divide by the label range, giving the average metric over the
            labelling budget (comparable between budgets); False gives the raw
            area in metric x labels.

        Returns
        -------
        float
            The area; NaN points are left out.
        """
        mean, labels = self.mean, self.labels.astype(np.float64)
        ok = np.isfinite(mean)
        if ok.sum() == 0:
            return float("nan")
        if ok.sum() == 1:
            return float(mean[ok][0]) if normalize else 0.0
        x, y = labels[ok], mean[ok]
        area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))
        span = x[-1] - x[0]
        return float(area / span) if normalize and span > 0 else area

    def labels_to_reach(self, value: float) -> int | None:
        """Fewest labels at which the mean curve reaches ``value``.

        Parameters
        ----------
        value : float
            Target metric value, e.g. the final value of a random-sampling curve.

        Returns
        -------
        int or None
            The first point of ``labels`` where the mean is at least ``value``;
            None when the curve never gets there.
        """
        reached = np.flatnonzero(self.mean >= value)
        return int(self.labels[reached[0]]) if len(reached) else None

    def to_frame(self) -> pd.DataFrame:
        """The curve in long format, one row per (seed, point).

        Returns
        -------
        pandas.DataFrame
            Columns ``name``, ``seed``, ``round``, ``labels``, ``metric`` and
            ``value``.
        """
        n_seeds, n_points = self.scores.shape
        return pd.DataFrame(
            {
                "name": self.name,
                "seed": np.repeat(np.asarray(self.seeds), n_points),
                "round": np.tile(np.arange(n_points), n_seeds),
                "labels": np.tile(self.labels, n_seeds),
                "metric": self.metric,
                "value": self.scores.ravel(),
            }
        )

    def plot(self, ax=None, *, label: str | None = None, band: bool = True, **kwargs):
        """Draw the mean curve, with a band of one standard deviation over seeds.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, default=None
            Where to draw; None uses the current axes.
        label : str, default=None
            Legend entry; defaults to ``name``.
        band : bool, default=True
            Shade mean +/- std (drawn when there is more than one seed).
        **kwargs
            Passed to ``ax.plot``.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.
        """
        from skrec.utils._optional import import_optional  # noqa: PLC0415

        plt = import_optional("matplotlib.pyplot", "LearningCurve.plot")
        ax = plt.gca() if ax is None else ax
        mean = self.mean
        (line,) = ax.plot(self.labels, mean, label=label or self.name, **kwargs)
        if band and len(self.scores) > 1:
            std = self.std
            ax.fill_between(
                self.labels, mean - std, mean + std, color=line.get_color(), alpha=0.2, lw=0
            )
        ax.set_xlabel("labels")
        ax.set_ylabel(self.metric)
        return ax
