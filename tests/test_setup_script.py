"""scripts/setup.sh derives the backports URI from the machine's own apt sources."""

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

DEB822 = """Types: deb
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
"""


def uri(apt_dir: Path, suite: str) -> str | None:
    proc = subprocess.run(
        ["bash", "-c", f'source "{REPO}/scripts/setup.sh"; debian_archive_uri {suite}'],
        env={"CIMSPICE_APT_DIR": str(apt_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


@pytest.fixture
def apt(tmp_path: Path) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    return tmp_path


def test_deb822_sources(apt):
    (apt / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert uri(apt, "bookworm") == "http://mirror.example/debian"
    assert uri(apt, "bookworm-backports") is None


def test_deb822_field_names_ignore_case_and_disabled_stanzas_do_not_count(apt):
    text = DEB822.replace("URIs:", "uris:").replace("Suites:", "suites:")
    text += (
        "\nTypes: deb\nURIs: http://old.example/debian\nSuites: bookworm-backports\nEnabled: no\n"
    )
    (apt / "sources.list.d" / "debian.sources").write_text(text)
    assert uri(apt, "bookworm") == "http://mirror.example/debian"
    assert uri(apt, "bookworm-backports") is None


def test_one_line_sources_with_options_and_comments(apt):
    (apt / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm-backports main\n"
        "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian "
        "bookworm main\n"
        "deb http://security.example/debian-security bookworm-security main\n"
    )
    assert uri(apt, "bookworm") == "http://mirror.example/debian"
    assert uri(apt, "bookworm-backports") is None


def test_no_source_for_the_suite(apt):
    assert uri(apt, "bookworm") is None
