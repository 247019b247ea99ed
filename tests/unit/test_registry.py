"""Registry names, failure sentences, and logins stored the way docker stores them."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from devenv.errors import DevenvError
from devenv.images import credentials
from devenv.registry import (
    RegistryNamespace,
    explain,
    failure_kind,
    registry_of,
    scrub,
    server_key,
)


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("https://Registry.Example.com/", "registry.example.com"),
        ("registry.example.com:443/team", "registry.example.com:443"),
        ("docker.io", "https://index.docker.io/v1/"),
        ("index.docker.io", "https://index.docker.io/v1/"),
    ],
)
def test_server_key_is_where_docker_files_the_login(given: str, key: str) -> None:
    assert server_key(given) == key


def test_nonsense_registries_are_refused() -> None:
    with pytest.raises(DevenvError, match="is not a registry address"):
        server_key("not a host")


def test_targets() -> None:
    target = RegistryNamespace.parse("http://127.0.0.1:5000/team/sub/")
    assert (target.registry, target.namespace) == ("127.0.0.1:5000", "team/sub")
    assert target.ref("php", "abc") == "127.0.0.1:5000/team/sub/php:abc"
    assert str(RegistryNamespace.parse("reg.example.com")) == "reg.example.com"
    assert RegistryNamespace.parse("reg.example.com").repo("php") == "reg.example.com/php"
    with pytest.raises(DevenvError, match="namespace 'Team' is not valid"):
        RegistryNamespace.parse("reg.example.com/Team")


def test_registry_of() -> None:
    assert registry_of("127.0.0.1:5000/team/php:1") == "127.0.0.1:5000"
    assert registry_of("localhost/x") == "localhost"
    assert registry_of("team/php:1") == "docker.io"


@pytest.mark.parametrize(
    ("said", "kind"),
    [
        ("manifest for x not found: manifest unknown: manifest unknown", "missing"),
        ("Head http://127.0.0.1:5000/v2/a/manifests/b: no basic auth credentials", "auth"),
        ("unauthorized: authentication required", "auth"),
        (
            "pull access denied for x, repository does not exist or may require 'docker login'",
            "auth",
        ),
        (
            'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
            "unreachable",
        ),
        ("lookup nowhere.invalid: no such host", "unreachable"),
        ("something else entirely", "other"),
    ],
)
def test_failure_kinds(said: str, kind: str) -> None:
    assert failure_kind(said) == kind


def test_failure_sentences() -> None:
    kind, message, hint = explain("127.0.0.1:5000", "401 Unauthorized", "login")
    assert (kind, message, hint) == (
        "auth",
        "login to 127.0.0.1:5000 failed: wrong user name or password",
        None,
    )
    kind, message, hint = explain("r:5000/t/php:1", "no basic auth credentials", "pushing")
    assert kind == "auth" and "r:5000 refused the credentials" in message
    assert hint == "run `devenv login r:5000`"
    kind, message, _ = explain("r:5000/t/php:1", "manifest unknown", "pulling")
    assert message == "pulling r:5000/t/php:1: no such image or repository in r:5000"


def test_scrub_hides_secrets() -> None:
    assert scrub("user:hunter2 failed", "hunter2", "") == "user:*** failed"


# ---- stored logins -------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    return tmp_path / "docker" / "config.json"


def test_a_login_goes_into_auths_like_dockers(config: Path) -> None:
    config.parent.mkdir()
    config.write_text(json.dumps({"auths": {"other:1": {"auth": "eDp5"}}, "psFormat": "x"}))
    where = credentials.store("127.0.0.1:5000", "dev", "s3cret")
    assert where == str(config)
    data = json.loads(config.read_text())
    assert data["auths"]["127.0.0.1:5000"] == {"auth": base64.b64encode(b"dev:s3cret").decode()}
    assert data["auths"]["other:1"] == {"auth": "eDp5"} and data["psFormat"] == "x"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert credentials.lookup("127.0.0.1:5000") == "dev"
    assert credentials.erase("127.0.0.1:5000") is True
    assert "127.0.0.1:5000" not in json.loads(config.read_text())["auths"]
    assert credentials.erase("127.0.0.1:5000") is False
    assert credentials.lookup("127.0.0.1:5000") is None


def test_an_unreadable_config_is_one_sentence(config: Path) -> None:
    config.parent.mkdir()
    config.write_text("{not json")
    with pytest.raises(DevenvError, match="cannot read docker's config"):
        credentials.store("r:1", "u", "p")


@pytest.fixture
def fake_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """docker-credential-fake: keeps entries as files, as a real helper keeps them."""
    folder = tmp_path / "bin"
    folder.mkdir()
    store = tmp_path / "store"
    store.mkdir()
    script = folder / "docker-credential-fake"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, pathlib, sys\n"
        f"store = pathlib.Path({str(store)!r})\n"
        "verb, data = sys.argv[1], sys.stdin.read()\n"
        "if verb == 'store':\n"
        "    entry = json.loads(data)\n"
        "    (store / entry['ServerURL'].replace(':', '_')).write_text(data)\n"
        "elif verb == 'get':\n"
        "    path = store / data.strip().replace(':', '_')\n"
        "    if not path.exists():\n"
        "        print('credentials not found in native keychain'); sys.exit(1)\n"
        "    print(path.read_text())\n"
        "elif verb == 'erase':\n"
        "    path = store / data.strip().replace(':', '_')\n"
        "    if not path.exists():\n"
        "        print('credentials not found in native keychain'); sys.exit(1)\n"
        "    path.unlink()\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return store


def test_a_credential_store_holds_the_secret(config: Path, fake_helper: Path) -> None:
    config.parent.mkdir()
    config.write_text(json.dumps({"credsStore": "fake"}))
    assert credentials.store("r.example.com", "dev", "s3cret") == "docker-credential-fake"
    assert json.loads(config.read_text())["auths"] == {"r.example.com": {}}
    assert "s3cret" not in config.read_text()
    saved = json.loads((fake_helper / "r.example.com").read_text())
    assert saved == {"ServerURL": "r.example.com", "Username": "dev", "Secret": "s3cret"}
    assert credentials.lookup("r.example.com") == "dev"
    assert credentials.erase("r.example.com") is True
    assert not (fake_helper / "r.example.com").exists()
    assert credentials.erase("r.example.com") is False


def test_per_registry_helpers_win_over_the_store(config: Path, fake_helper: Path) -> None:
    config.parent.mkdir()
    config.write_text(json.dumps({"credsStore": "missing", "credHelpers": {"r:1": "fake"}}))
    credentials.store("r:1", "dev", "pw")
    assert (fake_helper / "r_1").exists()
    with pytest.raises(DevenvError, match="docker-credential-missing"):
        credentials.store("other:2", "dev", "pw")
