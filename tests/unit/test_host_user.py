"""Who devenv acts for (devenv.host): under sudo, the user who ran sudo, in one rule."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from devenv import host
from devenv.host import Host

ME = pwd.getpwuid(os.getuid())


@pytest.fixture
def sudo(monkeypatch: pytest.MonkeyPatch) -> pwd.struct_passwd:
    """Root (euid 0) run through sudo by an account that exists here, HOME root's."""
    someone = next(p for p in pwd.getpwall() if p.pw_uid not in (0, os.getuid()))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setenv("SUDO_UID", str(someone.pw_uid))
    monkeypatch.setenv("SUDO_GID", str(someone.pw_gid))
    monkeypatch.setenv("HOME", "/root")
    for name in ("DEVENV_STATE_DIR", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    return someone


def test_under_sudo_devenv_acts_for_the_user_who_ran_it(sudo: pwd.struct_passwd) -> None:
    home = Path(sudo.pw_dir)
    assert host.sudo_user() == (sudo.pw_uid, sudo.pw_gid)
    assert host.home() == home
    assert host.expand_home("~/src") == f"{home}/src" and host.expand_home("~") == str(home)
    assert host.state_dir() == str(home / ".local" / "state" / "devenv")
    assert Host.current() == (sudo.pw_uid, sudo.pw_gid, home, home / ".local/state/devenv", ())


def test_a_state_folder_named_under_sudo_is_kept(
    sudo: pwd.struct_passwd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVENV_STATE_DIR", "/srv/state")
    assert host.state_dir() == "/srv/state"


def test_a_missing_sudo_gid_is_the_accounts_own(
    sudo: pwd.struct_passwd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUDO_GID")
    assert host.sudo_user() == (sudo.pw_uid, sudo.pw_gid)


@pytest.mark.parametrize("uid", ["0", "", "x1"])
def test_sudo_to_root_by_root_is_plain_root(
    sudo: pwd.struct_passwd, monkeypatch: pytest.MonkeyPatch, uid: str
) -> None:
    monkeypatch.setenv("SUDO_UID", uid)
    assert host.sudo_user() is None
    assert host.home() == Path("/root")
    assert Host.current().uid == host.DEFAULT_UID or os.getuid() != 0


def test_sudo_uid_without_root_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`sudo -u bob devenv` runs as bob: bob is the user, whoever ran sudo."""
    monkeypatch.setattr(os, "geteuid", lambda: 1234)
    monkeypatch.setenv("SUDO_UID", "4242")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert host.sudo_user() is None and host.home() == tmp_path


def test_another_users_home_stays_theirs() -> None:
    assert host.expand_home(f"~{ME.pw_name}/x") == f"{ME.pw_dir}/x"
    assert host.expand_home("./~x") == "./~x"


def test_new_files_in_the_sudo_users_folder_are_theirs(
    sudo: pwd.struct_passwd, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """give_to_user hands over only in a folder of the sudo user's (never root's)."""
    from devenv import hostfiles

    given: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "fchown", lambda _fd, uid, gid: given.append((uid, gid)))
    theirs, roots = tmp_path / "theirs", tmp_path / "roots"
    theirs.mkdir()
    roots.mkdir()
    real_stat = os.stat

    def owned(path: object, *args: object, **kwargs: object) -> os.stat_result:
        found = real_stat(path, *args, **kwargs)  # type: ignore[arg-type]
        if str(path) == str(theirs):
            fields = list(found)
            fields[4] = sudo.pw_uid
            return os.stat_result(fields)
        return found

    monkeypatch.setattr(os, "stat", owned)
    hostfiles.write_file(theirs / "a", "x")
    hostfiles.write_file(roots / "b", "x")
    assert given == [(sudo.pw_uid, sudo.pw_gid)]
