"""The mirror for stand-ins comes from the machine's own apt sources, in either file format."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.bases.mirror import NoDebianMirror, debian_mirror, debian_security_mirror


def _apt_dir(tmp_path: Path, sources_list: str = "", deb822: str = "") -> Path:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(sources_list)
    if deb822:
        (tmp_path / "sources.list.d" / "debian.sources").write_text(deb822)
    return tmp_path


def test_deb822_sources_give_the_main_and_security_mirrors(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WORKSHOP_DEBIAN_MIRROR", raising=False)
    apt = _apt_dir(tmp_path, deb822=(
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n"
    ))
    assert debian_mirror(apt) == "http://mirror.example/debian"
    assert debian_security_mirror(apt) == "http://mirror.example/debian-security"


def test_one_line_sources_with_options_are_understood(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WORKSHOP_DEBIAN_MIRROR", raising=False)
    apt = _apt_dir(tmp_path, sources_list=(
        "# comment\ndeb [signed-by=/usr/share/keyrings/x.gpg] http://mirror.example/debian bookworm main\n"
    ))
    assert debian_mirror(apt) == "http://mirror.example/debian"
    assert debian_security_mirror(apt) is None


def test_an_ubuntu_machine_is_told_to_set_a_mirror(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WORKSHOP_DEBIAN_MIRROR", raising=False)
    apt = _apt_dir(tmp_path, sources_list="deb http://archive.example/ubuntu jammy main\n")
    with pytest.raises(NoDebianMirror, match="WORKSHOP_DEBIAN_MIRROR"):
        debian_mirror(apt)


def test_the_environment_overrides_the_machine(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WORKSHOP_DEBIAN_MIRROR", "http://classroom.example/debian/")
    assert debian_mirror(_apt_dir(tmp_path)) == "http://classroom.example/debian"
