"""The local model registry: versions, aliases, hash checks."""

from __future__ import annotations

import pytest

from launchbay.errors import LaunchbayError
from launchbay.registry import Registry


class Profile:
    def to_json(self) -> str:
        return "{}"


def test_versions_and_aliases(tmp_path):
    registry = Registry(tmp_path)
    first = registry.register("m", {"w": 1}, Profile(), {"metrics": {"auc": 0.8}})
    second = registry.register("m", {"w": 2}, Profile(), {"metrics": {"auc": 0.9}})
    assert (first.version, second.version) == (1, 2)
    assert registry.get("m").load_model() == {"w": 2}
    registry.set_alias("m", "champion", 1)
    assert registry.get("m", "champion").load_model() == {"w": 1}
    assert registry.models() == ["m"] and registry.versions("m") == [1, 2]


def test_tampered_artifact_is_refused(tmp_path):
    version = Registry(tmp_path).register("m", [1, 2, 3], Profile(), {})
    (version.path / "model.pkl").write_bytes(b"\x80\x05N.")
    with pytest.raises(LaunchbayError, match="does not match its recorded sha256"):
        Registry(tmp_path).get("m", 1).load_model()


def test_half_written_version_is_invisible(tmp_path):
    registry = Registry(tmp_path)
    registry.register("m", 1, Profile(), {})
    (tmp_path / "m" / "2").mkdir()
    assert registry.versions("m") == [1]
    assert registry.register("m", 3, Profile(), {}).version == 3


def test_unknown_model_and_version_are_one_line(tmp_path):
    registry = Registry(tmp_path)
    with pytest.raises(LaunchbayError, match="no model 'x'"):
        registry.get("x")
    registry.register("m", 1, Profile(), {})
    with pytest.raises(LaunchbayError, match=r"no version or alias 'gold' \(versions: \[1\]\)"):
        registry.get("m", "gold")
