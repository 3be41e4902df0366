"""Fairness by group: a model's outcomes compared across the groups of columns that are not features.

- ``config``: the ``fairness`` config node;
- ``counts``: what a scoring worker (or training, on the holdout) counts per group, and how counts merge;
- ``metrics``: the rates per group and the gaps between groups, as fairlearn defines them.
"""
