"""``launchbay drift`` on parquet and CSV files: the real command in a subprocess for its exit statuses, in this
process where a test reads what it printed and wrote."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from in_process import launchbay_main


def table(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "amount": rng.lognormal(shift, 1.0, n),
            "score": rng.normal(shift, 1.0, n),
            "code": rng.integers(0, 4, n),
            "city": rng.choice(["paris", "lyon", "nice"] + (["lille"] * 3 if shift else []), n),
        }
    )


def launchbay(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "launchbay", "drift", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )


def test_a_drifted_pair_fails_the_build_and_writes_both_reports(tmp_path):
    table(3000, 1).to_parquet(tmp_path / "reference.parquet")
    current = tmp_path / "current"
    current.mkdir()
    shifted = table(4000, 2, shift=1.0)
    shifted.iloc[:2500].to_parquet(current / "part-0.parquet")
    shifted.iloc[2500:].to_parquet(current / "part-1.parquet")
    done = launchbay("reference.parquet", "current", "--exclude", "id", "--json", "out/drift.json",
                     "--fail-on-drift", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert "dataset: drift" in done.stdout and "drift-report.html" in done.stdout
    html = (tmp_path / "drift-report.html").read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html
    assert "Drift of current against reference.parquet" in html
    summary = json.loads((tmp_path / "out" / "drift.json").read_text())
    assert summary["dataset_drift"] and summary["reference_rows"] == 3000 and summary["current_rows"] == 4000
    assert {row["feature"] for row in summary["metrics"]} == {"amount", "score", "code", "city"}
    assert {"amount", "score", "city"} <= set(summary["drifted_features"])


def test_an_identical_pair_passes_with_the_chosen_metrics_and_kinds(tmp_path):
    data = table(2000, 3)
    data.to_csv(tmp_path / "reference.csv", index=False)
    data.to_csv(tmp_path / "current.csv", index=False)
    done = launchbay_main("drift", "reference.csv", "current.csv", "--exclude", "id", "--categorical", "code,city",
                          "--metrics", "psi,ks", "--report", "r.html", "--json", "r.json", "--fail-on-drift", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "dataset: no drift" in done.stdout and (tmp_path / "r.html").exists()
    summary = json.loads((tmp_path / "r.json").read_text())
    assert not summary["dataset_drift"] and summary["drifted_features"] == []
    by_feature = {(row["feature"], row["metric"]): row for row in summary["metrics"]}
    assert set(by_feature) == {("amount", "psi"), ("amount", "ks"), ("score", "psi"), ("score", "ks"),
                               ("code", "psi"), ("city", "psi")}
    assert by_feature["code", "psi"]["kind"] == "categorical"
    assert by_feature["amount", "ks"]["value"] == 0.0 and by_feature["amount", "ks"]["p_value"] == 1.0


def test_drift_without_fail_on_drift_exits_zero(tmp_path):
    table(1500, 4).to_parquet(tmp_path / "a.parquet")
    table(1500, 5, shift=1.0).to_parquet(tmp_path / "b.parquet")
    done = launchbay_main("drift", "a.parquet", "b.parquet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "dataset: drift" in done.stdout


@pytest.mark.parametrize(
    ("current", "message"),
    [
        ("missing.parquet", "launchbay: error: missing.parquet: no such file or directory"),
        ("corrupt.parquet", r"launchbay: error: path: \S+/corrupt.parquet is not a readable parquet file "),
        ("narrow.parquet", "launchbay: error: feature 'score' is missing from the current data"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_1(tmp_path, current, message):
    table(500, 6).to_parquet(tmp_path / "reference.parquet")
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1 this is not parquet")
    table(500, 7).drop(columns=["score"]).to_parquet(tmp_path / "narrow.parquet")
    done = launchbay("reference.parquet", current, cwd=tmp_path)
    assert done.returncode == 1
    assert re.match(message, done.stderr) and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "drift-report.html").exists()
