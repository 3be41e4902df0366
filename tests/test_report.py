"""The HTML drift report: self-contained, a chart per feature, drift marked."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from launchbay.drift import compare
from launchbay.report import write_report


def test_report_is_self_contained_with_a_chart_per_feature(tmp_path):
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(size=5000), "y": rng.normal(size=5000),
                              "c": rng.choice(["a", "b"], size=5000)})
    current = pd.DataFrame({"x": rng.normal(2, 1, size=5000), "y": rng.normal(size=5000),
                            "c": rng.choice(["a", "b", "z"], size=5000)})
    result = compare(reference, current)
    page = write_report(result, tmp_path / "r.html", title="Drift <check>").read_text()
    assert page.count("<svg") == 3
    assert "Drift &lt;check&gt;" in page, "titles are escaped"
    assert not re.search(r"<script|<link|src=\"http|href=\"http", page), "no external resources or scripts"
    assert "x — drift" in page and "y — drift" not in page
    assert ">z</text>" in page, "an unseen category gets its own bar"
    assert "2 of 3 features drifted" in page and "dataset drift (at 50% or more)" in page
    assert not list(tmp_path.glob(".r.html*")), "written atomically, no temporary file left"
