"""A model's performance on every scored batch: realized metrics from mergeable counts where the
batch has labels, estimated ones (CBPE) where it has none, both against the version's holdout.

- ``sketch``: what a scoring worker counts per batch (``Target.gather``) and how counts merge;
- ``cbpe``: the score calibration fitted at training time and the estimate without labels;
- ``assess``: the ``performance`` section of a run's summary, its verdict and terminal table;
- ``labels``: labels that arrive later, joined to a past run's scores by row id;
- ``metrics``: metric names, their direction, histogram ROC AUC and its error bound.
"""
