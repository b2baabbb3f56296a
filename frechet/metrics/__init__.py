"""Metrics comparing two sides: the Fréchet distance and the suite around it; each module holds one formula."""

from frechet.metrics.base import Metric, MetricContext, Need, Side

__all__ = ["Metric", "MetricContext", "Need", "Side"]
