"""Fitting models on Ray: search and cross-validation, one model per segment, metrics,
lineage and the promotion rule. The jobs in ``launchbay.jobs`` put these together."""
