"""Locating, verifying and downloading cell1.asc (downloads go to a local file:// source)."""
import zipfile

import pytest

from neuron_as_dnn.simulation import morphology


def test_verify_accepts_the_published_file(morphology_path):
    assert morphology.verify(morphology_path) == morphology_path
    assert morphology.locate(morphology_path) == morphology_path


def test_wrong_or_missing_file_gets_an_error_that_says_how_to_fix_it(tmp_path):
    wrong = tmp_path / "cell1.asc"
    wrong.write_text("(not a morphology)")
    with pytest.raises(morphology.MorphologyError, match="SHA-256.*make morphology"):
        morphology.verify(wrong)
    with pytest.raises(morphology.MorphologyError, match="does not exist.*L5PC_MORPHOLOGY"):
        morphology.locate(tmp_path / "missing.asc")


def test_environment_variable_points_at_a_local_copy(monkeypatch, morphology_path, tmp_path):
    monkeypatch.setenv(morphology.ENV_VAR, str(morphology_path))
    assert morphology.locate() == morphology_path
    monkeypatch.setenv(morphology.ENV_VAR, str(tmp_path / "nowhere.asc"))
    with pytest.raises(morphology.MorphologyError):
        morphology.locate()


def test_download_tries_sources_in_turn_and_checks_the_checksum(monkeypatch, morphology_path, tmp_path):
    bad = tmp_path / "bad.asc"
    bad.write_text("tampered")
    archive = tmp_path / "modeldb.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(morphology_path, "L5bPCmodelsEH/morphologies/cell1.asc")
    monkeypatch.setattr(morphology, "SOURCES", [
        ((tmp_path / "absent.asc").as_uri(), None),
        (bad.as_uri(), None),
        (archive.as_uri(), "morphologies/cell1.asc"),
    ])
    destination = tmp_path / "out" / "cell1.asc"
    assert morphology.download(destination) == destination
    assert morphology.sha256_of(destination) == morphology.MORPHOLOGY_SHA256
    monkeypatch.setattr(morphology, "SOURCES", [(bad.as_uri(), None)])
    with pytest.raises(morphology.MorphologyError, match="wrong SHA-256"):
        morphology.download(tmp_path / "other.asc")
    assert not (tmp_path / "other.asc").exists()
