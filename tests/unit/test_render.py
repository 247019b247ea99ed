"""The Dockerfile a spec renders to: every branch of templates/Dockerfile.j2, the layer order,
and the apt mirror switch run for real on copies of Debian and Ubuntu source lists."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devenv.build.render import (
    PEER_START,
    base_recipe_hash,
    folders_script,
    image_tag,
    mirror_script,
    render,
    render_dockerfile,
    templates_dir,
    user_script,
)
from devenv.spec.models import Base, Spec

MIRROR = "http://mirror.example.com/debian"
APT_LINE = (
    "RUN apt-get update && apt-get install -y --no-install-recommends {} "
    "&& rm -rf /var/lib/apt/lists/*"
)
ENTRYPOINT_TAIL = [
    "COPY devenv-entrypoint /usr/local/bin/devenv-entrypoint",
    'ENTRYPOINT ["/usr/local/bin/devenv-entrypoint"]',
    'CMD ["sleep", "infinity"]',
]
SSHD_COPY = "COPY devenv-sshd.conf /etc/ssh/sshd_config.d/devenv.conf"


def shell_word(word: str) -> str:
    """A double-quoted Dockerfile word as the builder reads it (`\\X` is X)."""
    assert word[0] == word[-1] == '"'
    return re.sub(r"\\(.)", r"\1", word[1:-1])


def make(**fields: Any) -> Spec:
    return Spec.model_validate({"name": "box", **fields})


def lines(dockerfile: str) -> list[str]:
    """The instruction lines: neither blank nor comments."""
    return [ln for ln in dockerfile.splitlines() if ln.strip() and not ln.startswith("#")]


def exec_scripts(dockerfile: str) -> list[str]:
    """The shell scripts of every `RUN ["/bin/sh", "-eu", "-c", …]` line, decoded."""
    scripts = []
    for line in lines(dockerfile):
        if line.startswith("RUN ["):
            argv = json.loads(line.removeprefix("RUN "))
            assert argv[:3] == ["/bin/sh", "-eu", "-c"] and len(argv) == 4, line
            scripts.append(argv[3])
    return scripts


def apt_lines(dockerfile: str) -> list[str]:
    return [ln for ln in lines(dockerfile) if "apt-get" in ln]


# --- the skeleton every spec gets --------------------------------------------------------


def test_a_bare_spec_renders_the_skeleton_only() -> None:
    dockerfile = render_dockerfile(make())
    assert dockerfile.startswith("# ")
    assert lines(dockerfile) == [
        "FROM debian:bookworm",
        "ENV DEBIAN_FRONTEND=noninteractive",
        *ENTRYPOINT_TAIL,
    ]
    assert dockerfile.endswith("\n")


def test_entrypoint_image_keeps_the_bases_entrypoint_and_cmd() -> None:
    """No ENTRYPOINT or CMD line: the built image keeps its base's, which create reads; a
    label hands them to devenv's start-up in the Dev Containers CLI's shell."""
    rendered = render(make(base="memcached:1.6", entrypoint="image", command=["-m", "64"]))
    *head, label = lines(rendered.dockerfile)
    assert head == ["FROM memcached:1.6", "ENV DEBIAN_FRONTEND=noninteractive", ENTRYPOINT_TAIL[0]]
    key, _, word = label.removeprefix("LABEL ").partition("=")
    assert key == "devcontainer.metadata"
    assert shell_word(word) == json.dumps([{"entrypoint": PEER_START}])
    assert PEER_START.endswith('exec /usr/local/bin/devenv-entrypoint "$@"')
    assert rendered.build_hash != render(make(base="memcached:1.6")).build_hash
    # the command is the container's, not the image's: the same image either way
    assert rendered.build_hash == render(make(base="memcached:1.6", entrypoint="image")).build_hash


@pytest.mark.parametrize(
    ("args", "expected"), [(["/entry", "two words"], "/entry|two words|"), ([], "sleep|infinity|")]
)
def test_the_peer_start_hands_the_images_words_to_devenvs_start_up(
    args: list[str], expected: str, tmp_path: Path
) -> None:
    """As the Dev Containers CLI's shell runs it, "$@" being the image's ENTRYPOINT and CMD
    (none when the CLI overrides the command: the box idles, as devenv's does)."""
    probe = tmp_path / "devenv-entrypoint"
    probe.write_text('#!/bin/sh\nprintf "%s|" "$@"\n')
    probe.chmod(0o755)
    line = PEER_START.replace("/usr/local/bin/devenv-entrypoint", str(probe))
    ran = subprocess.run(["/bin/sh", "-c", line, "-", *args], capture_output=True, text=True)
    assert ran.stdout == expected


def test_from_names_the_image_as_written() -> None:
    digest = "registry.example.com:5000/team/php:8.2@sha256:" + "b" * 64
    assert lines(render_dockerfile(make(base=digest)))[0] == f"FROM {digest}"
    through_mirror = make(base={"image": "centos:7", "registry_mirror": "registry.example.com"})
    assert lines(render_dockerfile(through_mirror))[0] == "FROM centos:7"


@pytest.mark.parametrize(
    ("bootstrap", "mirror"),
    [("debian:bookworm", "http://deb.example.org/debian"), ("ubuntu:noble", "http://m/ubuntu")],
)
def test_a_bootstrapped_base_is_named_by_its_recipe(bootstrap: str, mirror: str) -> None:
    spec = make(base={"bootstrap": bootstrap, "mirror": mirror})
    recipe = base_recipe_hash(spec.base)
    assert lines(render_dockerfile(spec))[0] == f"FROM devenv-base/{bootstrap}-{recipe[:12]}"
    assert len(recipe) == 64 and int(recipe, 16) >= 0


def test_the_bootstrap_tag_changes_with_the_recipe() -> None:
    one = Base(bootstrap="debian:bookworm", mirror="http://a/debian")
    tags = {
        base_recipe_hash(one),
        base_recipe_hash(Base(bootstrap="debian:trixie", mirror="http://a/debian")),
        base_recipe_hash(Base(bootstrap="debian:bookworm", mirror="http://b/debian")),
        base_recipe_hash(
            Base(bootstrap="debian:bookworm", mirror="http://a/debian", variant="apt")
        ),
    }
    assert len(tags) == 4
    assert base_recipe_hash(one) == base_recipe_hash(
        Base(bootstrap="debian:bookworm", mirror="http://a/debian/")
    )


# --- apt mirror --------------------------------------------------------------------------


def test_no_apt_mirror_means_no_rewrite() -> None:
    dockerfile = render_dockerfile(make(apt={"packages": ["git"]}))
    assert "sources.list" not in dockerfile
    assert exec_scripts(dockerfile) == []


def test_an_apt_mirror_rewrites_sources_in_its_own_layer() -> None:
    dockerfile = render_dockerfile(make(apt={"mirror": MIRROR}))
    assert exec_scripts(dockerfile) == [mirror_script(MIRROR)]
    assert lines(dockerfile)[2] == (
        f'RUN ["/bin/sh", "-eu", "-c", {json.dumps(mirror_script(MIRROR))}]'
    )


# --- packages ----------------------------------------------------------------------------


def test_no_packages_means_no_apt_get() -> None:
    assert apt_lines(render_dockerfile(make(apt={"mirror": MIRROR}))) == []


def test_packages_install_in_one_cache_friendly_line() -> None:
    dockerfile = render_dockerfile(make(apt={"packages": ["php-cli", "git", "php=1.2-3"]}))
    assert apt_lines(dockerfile) == [APT_LINE.format("php-cli git php=1.2-3")]


def test_package_versions_with_shell_characters_are_quoted() -> None:
    dockerfile = render_dockerfile(make(apt={"packages": ["vim=2:9.0~rc1"]}))
    assert apt_lines(dockerfile) == [APT_LINE.format("'vim=2:9.0~rc1'")]


# --- sshd --------------------------------------------------------------------------------


def test_sshd_adds_openssh_server_its_config_and_host_key_cleanup() -> None:
    dockerfile = render_dockerfile(make(apt={"packages": ["git"]}, sshd=True, user="dev"))
    assert apt_lines(dockerfile) == [APT_LINE.format("git openssh-server")]
    assert SSHD_COPY in lines(dockerfile)
    _, script = exec_scripts(dockerfile)  # after the user's
    assert "rm -f /etc/ssh/ssh_host_*" in script  # no host key is baked into a shared image


def test_sshd_alone_still_installs_openssh_server() -> None:
    spec = make(sshd=True, user="dev")
    assert apt_lines(render_dockerfile(spec)) == [APT_LINE.format("openssh-server")]


@pytest.mark.parametrize("listed", ["openssh-server", "openssh-server=1:9.2p1-2+deb12u3"])
def test_openssh_server_listed_by_the_user_is_not_installed_twice(listed: str) -> None:
    dockerfile = render_dockerfile(make(apt={"packages": [listed]}, sshd=True, user="dev"))
    (line,) = apt_lines(dockerfile)
    assert line.count("openssh-server") == 1


def test_without_sshd_there_is_no_ssh_at_all() -> None:
    rendered = render(make(apt={"packages": ["git"]}))
    assert "ssh" not in rendered.dockerfile
    assert set(rendered.files) == {"devenv-entrypoint"}


def test_the_copied_files_are_the_templates_and_sshd_is_key_only() -> None:
    rendered = render(make(sshd=True, user="dev"))
    assert set(rendered.files) == {"devenv-entrypoint", "devenv-sshd.conf"}
    for name, content in rendered.files.items():
        assert content == (templates_dir() / name).read_bytes()
    config = rendered.files["devenv-sshd.conf"].decode().splitlines()
    assert "PasswordAuthentication no" in config
    assert "PermitRootLogin no" in config


# --- user --------------------------------------------------------------------------------


def test_a_user_is_created_without_baking_in_a_host_uid() -> None:
    dockerfile = render_dockerfile(make(user={"name": "dev", "uid": 4242, "gid": 4343}))
    (script,) = exec_scripts(dockerfile)
    assert script == user_script("dev")
    assert "useradd --create-home --shell /bin/bash --user-group dev" in script
    assert "4242" not in dockerfile and "4343" not in dockerfile


@pytest.mark.parametrize("user", [None, "root"])
def test_no_user_or_root_creates_nobody(user: str | None) -> None:
    dockerfile = render_dockerfile(make(user=user))
    assert "useradd" not in dockerfile
    assert exec_scripts(dockerfile) == []


# --- run steps ---------------------------------------------------------------------------


def test_run_steps_become_one_exec_form_layer_each_in_order() -> None:
    steps = ["pecl install xdebug", "echo 'zend_extension=xdebug' > /etc/php/conf.d/x.ini"]
    dockerfile = render_dockerfile(make(run=steps))
    assert exec_scripts(dockerfile) == steps
    assert lines(dockerfile)[2:4] == [
        f'RUN ["/bin/sh", "-eu", "-c", {json.dumps(step)}]' for step in steps
    ]


def test_a_multi_line_run_step_stays_one_instruction() -> None:
    step = "set -x\napt-get update\necho done"
    dockerfile = render_dockerfile(make(run=[step]))
    assert exec_scripts(dockerfile) == [step]
    assert len(lines(dockerfile)) == 2 + 1 + len(ENTRYPOINT_TAIL)


# --- container config stays out of the image ---------------------------------------------


def test_container_config_never_reaches_the_dockerfile() -> None:
    plain = render_dockerfile(make())
    configured = render_dockerfile(
        make(
            ports=["8080:80"],
            shared=["./src:/var/www/zzshared"],
            env={"ZZ_ENV": "zzvalue"},
            command="zzcommand --flag",
        )
    )
    assert configured == plain


# --- folders made for the box's user (issues 18, 20) -------------------------------------


def test_workdir_and_volume_mount_points_are_made_for_the_user(tmp_path: Path) -> None:
    """Each folder the base lacks is made with its missing parents, owned by the user; a
    folder the base has (or a link) is left as it is. Run here against a scratch root."""
    spec = make(
        user="dev",
        workdir="/work/app",
        volumes=[{"name": "data", "container": "/data"}, {"name": "w", "container": "/work/app"}],
    )
    scripts = exec_scripts(render_dockerfile(spec))
    assert scripts[-1] == folders_script(["/work/app", "/data"], "dev", ["/data", "/work/app"])
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    script = scripts[-1].replace("chown dev:", "echo chown >>" + str(tmp_path / "log") + " ")
    rooted = script.replace("mk /", f"mk {root}/").replace("/etc/devenv", f"{root}/etc/devenv")
    subprocess.run(["/bin/sh", "-eu", "-c", rooted], check=True, timeout=10)
    assert (root / "work" / "app").is_dir()
    # for the entrypoint: the mount points a new volume of the user's may be handed over at
    assert (root / "etc/devenv/volume-folders").read_text() == "/data\n/work/app\n"
    chowned = (tmp_path / "log").read_text().split()
    assert chowned == ["chown", str(root / "work"), "chown", str(root / "work" / "app")]


def test_a_box_without_a_user_still_gets_its_workdir_made_by_root() -> None:
    (script,) = exec_scripts(render_dockerfile(make(workdir="/srv/app")))
    assert script == folders_script(["/srv/app"], None) and "chown" not in script


def test_no_workdir_or_volumes_adds_no_layer() -> None:
    assert render_dockerfile(make(workdir="/")) == render_dockerfile(make())


# --- the order of layers -----------------------------------------------------------------


def test_layers_come_in_cache_friendly_order() -> None:
    spec = make(
        apt={"mirror": MIRROR, "packages": ["php-cli"]},
        user="dev",
        sshd=True,
        run=["echo first", "echo second"],
    )
    got = lines(render_dockerfile(spec))
    scripts = exec_scripts(render_dockerfile(spec))
    assert [ln.split(" ", 1)[0] for ln in got] == [
        "FROM",
        "ENV",
        "RUN",
        "RUN",
        "RUN",
        "COPY",
        "RUN",
        "RUN",
        "RUN",
        "COPY",
        "ENTRYPOINT",
        "CMD",
    ]
    assert got[0] == "FROM debian:bookworm"
    assert scripts[0] == mirror_script(MIRROR)  # mirror before any apt-get
    assert got[3] == APT_LINE.format("php-cli openssh-server")
    assert "useradd" in scripts[1]
    assert got[5] == SSHD_COPY
    assert scripts[3:] == ["echo first", "echo second"]
    assert got[-3:] == ENTRYPOINT_TAIL


def test_the_image_tag_is_the_name_and_twelve_hash_digits() -> None:
    rendered = render(make())
    assert image_tag("php", rendered.build_hash) == f"devenv/php:{rendered.build_hash[:12]}"
    assert rendered.short_hash == rendered.build_hash[:12]


# --- the mirror switch, run for real -----------------------------------------------------

DEBIAN_LIST = """\
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main contrib
deb [signed-by=/usr/share/keyrings/deb.gpg] https://deb.debian.org/debian/ bookworm-backports main
deb-src http://ftp.de.debian.org/debian bookworm main
deb http://deb.debian.org/debian-security bookworm-security main
deb http://security.debian.org/debian-security bookworm-security main
"""
DEBIAN_SOURCES = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20240101T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20240101T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
UBUNTU_LIST = """\
# See http://help.ubuntu.com/community/UpgradeNotes for how to upgrade.
deb http://archive.ubuntu.com/ubuntu/ jammy main restricted
deb http://archive.ubuntu.com/ubuntu/ jammy-updates main restricted
deb http://security.ubuntu.com/ubuntu/ jammy-security main restricted
"""
UBUNTU_SOURCES = """\
Types: deb
URIs: http://archive.ubuntu.com/ubuntu/
Suites: noble noble-updates noble-backports
Components: main universe restricted multiverse
Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg

Types: deb
URIs: http://security.ubuntu.com/ubuntu/
Suites: noble-security
Components: main universe restricted multiverse
Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg
"""
THIRD_PARTY = "deb https://packages.sury.org/php/ bookworm main\n"


def run_mirror_switch(mirror: str, etc_apt: Path) -> None:
    """Run the switch exactly as the Dockerfile carries it, on `etc_apt` instead of /etc/apt."""
    (script,) = exec_scripts(render_dockerfile(make(apt={"mirror": mirror})))
    assert script == mirror_script(mirror)
    local = script.replace("/etc/apt/", f"{etc_apt}/")
    assert "/etc/apt" not in local
    result = subprocess.run(
        ["/bin/sh", "-eu", "-c", local], capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 0, result.stderr


def etc_apt(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "apt"
    (root / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_the_mirror_switch_rewrites_debian_sources_list(tmp_path: Path) -> None:
    root = etc_apt(tmp_path, {"sources.list": DEBIAN_LIST, "sources.list.d/sury.list": THIRD_PARTY})
    run_mirror_switch(MIRROR, root)
    assert (root / "sources.list").read_text() == (
        f"deb {MIRROR} bookworm main\n"
        f"deb {MIRROR} bookworm-updates main contrib\n"
        f"deb [signed-by=/usr/share/keyrings/deb.gpg] {MIRROR} bookworm-backports main\n"
        f"deb-src {MIRROR} bookworm main\n"
        "deb http://deb.debian.org/debian-security bookworm-security main\n"
        "deb http://security.debian.org/debian-security bookworm-security main\n"
    )
    assert (root / "sources.list.d/sury.list").read_text() == THIRD_PARTY


def test_the_mirror_switch_rewrites_debian_deb822_sources(tmp_path: Path) -> None:
    root = etc_apt(tmp_path, {"sources.list.d/debian.sources": DEBIAN_SOURCES})
    run_mirror_switch(MIRROR, root)
    rewritten = (root / "sources.list.d/debian.sources").read_text()
    assert rewritten == DEBIAN_SOURCES.replace(
        "URIs: http://deb.debian.org/debian\n", f"URIs: {MIRROR}\n"
    )
    assert f"URIs: {MIRROR}\n" in rewritten
    assert "URIs: http://deb.debian.org/debian-security\n" in rewritten


def test_the_mirror_switch_rewrites_ubuntu_sources_in_both_forms(tmp_path: Path) -> None:
    mirror = "https://mirror.example.com:8443/ubuntu"
    root = etc_apt(
        tmp_path,
        {"sources.list": UBUNTU_LIST, "sources.list.d/ubuntu.sources": UBUNTU_SOURCES},
    )
    run_mirror_switch(mirror, root)
    # Ubuntu serves its -security pocket from the same archive, so a mirror of it has them too.
    assert (root / "sources.list").read_text() == (
        "# See http://help.ubuntu.com/community/UpgradeNotes for how to upgrade.\n"
        f"deb {mirror} jammy main restricted\n"
        f"deb {mirror} jammy-updates main restricted\n"
        f"deb {mirror} jammy-security main restricted\n"
    )
    sources = (root / "sources.list.d/ubuntu.sources").read_text()
    assert sources == UBUNTU_SOURCES.replace(
        "URIs: http://archive.ubuntu.com/ubuntu/\n", f"URIs: {mirror}\n"
    ).replace("URIs: http://security.ubuntu.com/ubuntu/\n", f"URIs: {mirror}\n")


def test_the_mirror_switch_is_idempotent_and_copes_with_no_sources(tmp_path: Path) -> None:
    root = etc_apt(tmp_path, {"sources.list.d/debian.sources": DEBIAN_SOURCES})
    run_mirror_switch(MIRROR, root)
    once = (root / "sources.list.d/debian.sources").read_text()
    run_mirror_switch(MIRROR, root)
    assert (root / "sources.list.d/debian.sources").read_text() == once
    empty = etc_apt(tmp_path / "bare", {})  # no sources.list, empty sources.list.d
    run_mirror_switch(MIRROR, empty)
    assert list(empty.rglob("*")) == [empty / "sources.list.d"]
