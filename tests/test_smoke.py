from tests.conftest import run_cli


def test_version_and_help() -> None:
    r = run_cli("--version")
    assert r.returncode == 0 and "reelforge" in r.stdout
    r = run_cli("--help")
    assert r.returncode == 0 and "export" in r.stdout and "Example" in r.stdout
