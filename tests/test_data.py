"""Built-in sources and sink on real files, and the atomic commit of outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from pyarrow.fs import LocalFileSystem

from launchbay import storage
from launchbay.data.files import CsvConfig, FileConfig, ParquetSinkConfig, read_csv, read_parquet, write_parquet
from launchbay.data.synthetic import DriftSpec, SyntheticConfig, generate, read
from launchbay.errors import LaunchbayError
from launchbay.storage import SUCCESS, node_local_warning, staged_output, write_atomic

TABLE = pa.table({"row_id": [1, 2, 3], "x": [0.5, 1.5, None], "c": ["a", "b", "a"]})


def test_synthetic_is_the_same_whatever_the_blocks(ray_session):
    whole = read(SyntheticConfig(rows=3000, chunk_rows=3000)).to_pandas().sort_values("row_id", ignore_index=True)
    again = read(SyntheticConfig(rows=3000, chunk_rows=3000)).to_pandas().sort_values("row_id", ignore_index=True)
    assert whole.equals(again)
    assert list(whole.row_id) == list(range(3000))
    assert read(SyntheticConfig(rows=3000, chunk_rows=700)).count() == 3000


def test_synthetic_drift_is_what_was_asked():
    base = generate(SyntheticConfig(rows=20000, chunk_rows=20000), 0).to_pandas()
    spec = DriftSpec(features=["num_0", "cat_0"], mean_shift=1.0, new_categories=2, missing_rate=0.1)
    drifted = generate(SyntheticConfig(rows=20000, chunk_rows=20000, drift=spec), 0).to_pandas()
    shift = (drifted.num_0.mean() - base.num_0.mean()) / base.num_0.std()
    assert 0.9 < shift < 1.1
    assert 0.08 < drifted.num_0.isna().mean() < 0.12 and base.num_0.isna().sum() == 0
    assert drifted.cat_0.str.startswith("new").mean() > 0.1 and not base.cat_0.str.startswith("new").any()
    assert drifted.num_2.equals(base.num_2)


@pytest.mark.parametrize(
    ("setting", "message"),
    [({"rows": 0}, "rows must be positive"), ({"drift": DriftSpec(features=["zzz"], mean_shift=1)}, "zzz")],
)
def test_synthetic_rejects_bad_settings(setting, message):
    with pytest.raises(LaunchbayError, match=message):
        read(SyntheticConfig(**setting))


def test_parquet_and_csv_round_trip(ray_session, tmp_path):
    pq.write_table(TABLE, tmp_path / "a.parquet")
    pcsv.write_csv(TABLE, tmp_path / "a.csv")
    from_parquet = read_parquet(FileConfig(path=str(tmp_path / "a.parquet"))).to_arrow_refs()
    assert pa.concat_tables(ray_session.get(from_parquet)).equals(TABLE)
    frame = read_csv(CsvConfig(path=str(tmp_path), columns=["row_id", "c"])).to_pandas()
    assert list(frame.columns) == ["row_id", "c"] and list(frame.c) == ["a", "b", "a"]


def test_missing_path_corrupt_file_and_missing_column_are_one_line(tmp_path):
    with pytest.raises(LaunchbayError, match="no such file or directory"):
        read_parquet(FileConfig(path=str(tmp_path / "nope")))
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(LaunchbayError, match=r"bad.parquet is not a readable parquet file"):
        read_parquet(FileConfig(path=str(tmp_path)))
    pq.write_table(TABLE, tmp_path / "good.parquet")
    with pytest.raises(LaunchbayError, match=r"has no column\(s\) \['y'\]"):
        read_parquet(FileConfig(path=str(tmp_path / "good.parquet"), columns=["y"]))


def test_sources_and_the_drift_command_skip_the_same_files(tmp_path):
    from launchbay.cli.drift import read_table
    from launchbay.data.files import input_files

    for name in ("part-0.parquet", "day=1/part-1.parquet", ".out.staging/part-2.parquet", "_temporary/part-3.parquet"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        pq.write_table(TABLE, tmp_path / name)
    (tmp_path / SUCCESS).write_text("{}")
    _, files = input_files(str(tmp_path), (".parquet",))
    assert files == [f"{tmp_path}/day=1/part-1.parquet", f"{tmp_path}/part-0.parquet"]
    assert read_table(str(tmp_path)).num_rows == 2 * TABLE.num_rows


def test_sink_writes_floats_plain_and_counts_rows(ray_session, tmp_path):
    import ray.data

    rows = write_parquet(ray.data.from_arrow(TABLE), str(tmp_path / "out"), ParquetSinkConfig(), LocalFileSystem())
    assert rows == 3
    (f,) = (tmp_path / "out").rglob("*.parquet")
    column = pq.ParquetFile(f).metadata.row_group(0).column(1)
    assert "PLAIN_DICTIONARY" not in column.encodings and "RLE_DICTIONARY" not in column.encodings


def test_failed_write_leaves_nothing_and_keeps_the_old_output(tmp_path):
    local, final = LocalFileSystem(), tmp_path / "scores"
    with staged_output(local, str(final)) as staging:
        Path(staging, "part-0").write_text("first")
    with pytest.raises(RuntimeError):
        with staged_output(local, str(final)) as staging:
            Path(staging, "part-0").write_text("half")
            raise RuntimeError("worker died")
    assert (final / "part-0").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores"]
    with staged_output(local, str(final)) as staging:
        Path(staging, "part-1").write_text("second")
    assert sorted(p.name for p in final.iterdir()) == [SUCCESS, "part-1"]
    assert json.loads((final / SUCCESS).read_text())["files"] == ["part-1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores"]


def test_overlapping_stagings_of_one_output_commit_whole_and_clean_only_their_own(tmp_path):
    local, final = LocalFileSystem(), tmp_path / "scores"
    with staged_output(local, str(final), run_id="a") as a:
        Path(a, "part-a").write_text("a")
        with pytest.raises(RuntimeError):
            with staged_output(local, str(final), run_id="failed") as failed:
                Path(failed, "part-0").write_text("half")
                raise RuntimeError("worker died")
        with staged_output(local, str(final), run_id="b") as b:
            Path(b, "part-b").write_text("b")
        assert len({a, b, failed}) == 3 and Path(a, "part-a").exists()
        assert json.loads((final / SUCCESS).read_text()) | {"committed": None} == {"run_id": "b", "files": ["part-b"], "committed": None}
    assert sorted(p.name for p in final.iterdir()) == [SUCCESS, "part-a"]
    assert json.loads((final / SUCCESS).read_text())["run_id"] == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores"]


def test_a_commit_that_another_run_beats_fails_and_leaves_the_winner_whole(tmp_path, monkeypatch):
    local, final = LocalFileSystem(), tmp_path / "scores"
    with staged_output(local, str(final), run_id="winner") as staging:
        Path(staging, "part-0").write_text("winner")
    exists = storage._exists  # the winner commits after the loser looked for an old output
    monkeypatch.setattr(storage, "_exists", lambda filesystem, path: path != str(final) and exists(filesystem, path))
    with pytest.raises(LaunchbayError, match="was not committed, another run may have committed it at the same time"):
        with staged_output(local, str(final), run_id="loser") as staging:
            Path(staging, "part-0").write_text("loser")
    assert (final / "part-0").read_text() == "winner" and json.loads((final / SUCCESS).read_text())["run_id"] == "winner"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores"]


def test_atomic_write_replaces_whole_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "new" / "summary.json"
    write_atomic(target, "first, and longer")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["summary.json"]
    (target.parent / "folder" / "inside").mkdir(parents=True)
    with pytest.raises(OSError):
        write_atomic(target.parent / "folder", "a file cannot replace a folder")
    assert sorted(p.name for p in target.parent.iterdir()) == ["folder", "summary.json"]


def test_atomic_write_through_a_pyarrow_filesystem(tmp_path):
    from pyarrow.fs import SubTreeFileSystem

    write_atomic("a/b.txt", "text", SubTreeFileSystem(str(tmp_path), LocalFileSystem()))
    write_atomic(f"{tmp_path}/c.txt", "local", LocalFileSystem())
    assert (tmp_path / "a" / "b.txt").read_text() == "text" and (tmp_path / "c.txt").read_text() == "local"


def test_a_local_output_on_several_nodes_is_warned_about(tmp_path):
    from pyarrow.fs import FileSystem

    assert node_local_warning(LocalFileSystem(), str(tmp_path), 1) is None
    assert "nodes run on 3 machines" in node_local_warning(LocalFileSystem(), str(tmp_path), 3)
    s3, path = FileSystem.from_uri("s3://bucket/scores?region=us-east-1")
    assert node_local_warning(s3, path, 3) is None


def test_sink_partitions_by_column(ray_session, tmp_path):
    import ray.data

    table = pa.table({"row_id": [1, 2, 3, 4], "model_version": [1, 1, 2, 2], "score": [0.1, 0.2, 0.3, 0.4]})
    rows = write_parquet(ray.data.from_arrow(table), str(tmp_path / "out"), ParquetSinkConfig(partition_by=["model_version"]), LocalFileSystem())
    assert rows == 4
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model_version=1", "model_version=2"]
    back = pq.read_table(tmp_path / "out").sort_by("row_id")
    assert back.column("score").to_pylist() == [0.1, 0.2, 0.3, 0.4]
