"""BuildKit builds: the cached form of the recipe (same hash as the plain one), the choice of
a docker CLI that can build with BuildKit, and reading its `--progress=plain` output."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from devenv.build.lockfile import Lock, missing_pins
from devenv.build.render import MAX_PACKAGE_LAYERS, render, render_dockerfile
from devenv.engine import buildkit
from devenv.engine.build_output import PlainProgress
from devenv.engine.connection import Connection
from devenv.errors import BuildError
from devenv.spec.models import Spec


def make(**fields: Any) -> Spec:
    return Spec.model_validate({"name": "box", **fields})


def runs(dockerfile: str) -> list[str]:
    return [line for line in dockerfile.splitlines() if line.startswith("RUN ")]


def test_buildkit_form_mounts_apt_caches_and_installs_a_package_per_layer() -> None:
    spec = make(apt={"packages": ["php-cli", "jq"]})
    plain, cached = render_dockerfile(spec), render_dockerfile(spec, buildkit=True)
    assert "--mount" not in plain and len(runs(plain)) == 1
    installs = runs(cached)
    assert len(installs) == 2
    assert all("target=/var/lib/apt/lists" in r and "target=/var/cache/apt" in r for r in installs)
    assert "install -y --no-install-recommends php-cli;" in installs[0]
    assert "install -y --no-install-recommends jq;" in installs[1]
    # the debs stay in the cache (docker-clean set aside, put back), the lists are not wiped
    assert "docker-clean" in installs[0] and "rm -rf /var/lib/apt/lists" not in cached
    # the layers after the packages are the plain form's
    assert cached.split("jq;", 1)[1].split("\n", 1)[1] == plain.split("lists/*\n", 1)[1]


def test_one_more_package_keeps_the_earlier_layers() -> None:
    before = runs(render_dockerfile(make(apt={"packages": ["php-cli"]}), buildkit=True))
    after = runs(render_dockerfile(make(apt={"packages": ["php-cli", "tree"]}), buildkit=True))
    assert after[: len(before)] == before and len(after) == len(before) + 1


def test_many_packages_are_capped_in_layers() -> None:
    packages = [f"p{i}" for i in range(MAX_PACKAGE_LAYERS + 5)]
    installs = runs(render_dockerfile(make(apt={"packages": packages}), buildkit=True))
    assert len(installs) == MAX_PACKAGE_LAYERS
    assert installs[-1].count(" p") >= 6  # the rest, in one layer


def test_the_build_hash_is_the_plain_recipes_whichever_builder_runs_it() -> None:
    spec = make(apt={"packages": ["php-cli"]})
    rendered = render(spec)
    assert rendered.dockerfile == render_dockerfile(spec)
    assert rendered.buildkit_dockerfile == render_dockerfile(spec, buildkit=True)
    assert rendered.buildkit_dockerfile != rendered.dockerfile
    # the cached form's text (cache ids, mounts) names no image: same inputs, same hash
    assert render(spec).build_hash == rendered.build_hash


def test_lists_are_cached_per_base_and_mirror_debs_per_mirror() -> None:
    def lists_id(**fields: Any) -> str:
        line = runs(
            render_dockerfile(make(**{"apt": {"packages": ["jq"]}, **fields}), None, None, True)
        )
        return line[-1].split("id=devenv-apt-lists-")[1].split(",")[0]

    plain = lists_id()
    assert plain != lists_id(base="debian:trixie")
    assert plain != lists_id(apt={"packages": ["jq"], "mirror": "http://m.example/debian"})

    def debs_id(**fields: Any) -> str:
        line = runs(
            render_dockerfile(make(**{"apt": {"packages": ["jq"]}, **fields}), None, None, True)
        )
        return line[-1].split("id=devenv-apt-debs-")[1].split(",")[0]

    assert debs_id() == debs_id(base="debian:trixie")
    assert debs_id() != debs_id(apt={"packages": ["jq"], "mirror": "http://m.example/debian"})


def test_a_locked_install_keeps_one_layer_and_the_cached_lists() -> None:
    lock = Lock("debian:bookworm", "digest:sha256:x", ("jq",), {"jq": "1.6-2.1"})
    spec = make(apt={"packages": ["jq"]})
    plain, cached = render_dockerfile(spec, lock=lock), render_dockerfile(spec, None, lock, True)
    assert "rm -rf /var/lib/apt/lists/*" in plain and "--mount" not in plain
    (install,) = [r for r in runs(cached) if "jq=1.6-2.1" in r]
    assert "--mount=type=cache" in install and "rm -rf /var/lib/apt/lists" not in install


def test_missing_pins_are_found_behind_buildkits_prefix_not_in_the_step_title() -> None:
    log = (
        '#7 [stage-0 2/4] RUN ["/bin/sh", "-eu", "-c", "… echo \\"devenv-lock-missing:$m\\""]\n'
        "#7 0.912 devenv-lock-missing: jq=1.5 bc=1.0\n"
    )
    assert missing_pins(log) == ["jq=1.5", "bc=1.0"]


def fake_docker(folder: Path, version: str, buildx: bool) -> Path:
    folder.mkdir(parents=True)
    script = folder / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = buildx ] && exit {0 if buildx else 1}\n'
        f'[ "$1" = --version ] && echo "Docker version {version}, build x"\n'
        "exit 0\n"
    )
    script.chmod(0o755)
    return script


def test_the_first_docker_on_path_that_can_build_with_buildkit_is_used(tmp_path: Path) -> None:
    modern = fake_docker(tmp_path / "a", "28.2.2", buildx=False)  # BuildKit lives in buildx
    debian = fake_docker(tmp_path / "b", "20.10.24+dfsg1", buildx=False)  # built in
    path = os.pathsep.join([str(modern.parent), str(debian.parent)])
    assert buildkit.find_cli({"PATH": path}) == buildkit.BuildkitCli(str(debian), buildx=False)
    assert buildkit.find_cli({"PATH": path, "DEVENV_BUILDKIT": "0"}) is None
    assert buildkit.find_cli({"PATH": str(modern.parent)}) is None
    assert buildkit.find_cli({"PATH": str(tmp_path / "none")}) is None
    plugin = fake_docker(tmp_path / "c", "28.2.2", buildx=True)
    assert buildkit.find_cli({"PATH": str(plugin.parent)}) == buildkit.BuildkitCli(
        str(plugin), buildx=True
    )


def test_the_cli_reaches_devenvs_engine_with_labels_and_network(tmp_path: Path) -> None:
    connection = Connection("ssh://me@far", "--host")
    cli = buildkit.BuildkitCli("/usr/bin/docker", buildx=False)
    argv = cli.argv(connection, "devenv/x:1", {"io.devenv.env": "x"}, tmp_path, tmp_path / "id")
    assert argv[:3] == ["/usr/bin/docker", "--host", "ssh://me@far"]
    assert "--progress=plain" in argv and argv[-1] == str(tmp_path)
    assert argv[argv.index("--label") + 1] == "io.devenv.env=x" and "--network" not in argv
    hosted = cli.argv(connection, "devenv/x:1", {}, tmp_path, tmp_path / "id", "host")
    assert hosted[hosted.index("--network") + 1] == "host"
    buildx = buildkit.BuildkitCli("docker", buildx=True).argv(
        Connection("unix:///s", "default socket", context="prod"), "t", {}, tmp_path, tmp_path
    )
    assert buildx[1:6] == ["--context", "prod", "buildx", "build", "--load"]


PASSED = """\
#1 [internal] load build definition from Dockerfile
#1 sha256:0379f89cfd00fec28f7afc9a99fa68369f691c8102537ca720502a282f191a8a
#1 DONE 0.1s

#4 [stage-0 1/3] FROM docker.io/library/debian:bookworm
#4 CACHED

#5 [stage-0 2/3] RUN --mount=type=cache,id=a,target=/var/lib/apt/lists ["/bin/sh", "-c", "x"]
#5 0.241 Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]
#5 DONE 5.5s
"""

FAILED = """\
#6 [3/3] RUN ["/bin/sh", "-eu", "-c", "echo boom-output; exit 3"]
#6 0.386 boom-output
#6 ERROR: process "/bin/sh -eu -c echo boom-output; exit 3" did not complete successfully: \
exit code: 3
------
 > [3/3] RUN ["/bin/sh", "-eu", "-c", "echo boom-output; exit 3"]:
#6 0.386 boom-output
------
ERROR: failed to solve: process "/bin/sh -eu -c echo boom-output; exit 3" did not complete
"""


def test_plain_progress_names_steps_and_streams_their_output() -> None:
    log, shown = io.StringIO(), []
    progress = PlainProgress(log, shown.append)
    for line in PASSED.splitlines(keepends=True):
        progress.feed(line)
    assert progress.started and not progress.error
    assert 'Step 2/3 : RUN ["/bin/sh", "-c", "x"]' in shown  # the mounts left out
    assert "Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]" in shown
    assert not any(line.startswith(("sha256:", "DONE", "#")) for line in shown)
    assert log.getvalue() == PASSED  # the log keeps every line as the CLI printed it


def test_a_failing_step_is_one_build_error_naming_it_and_the_log() -> None:
    progress = PlainProgress(io.StringIO())
    for line in FAILED.splitlines():
        progress.feed(line)
    error = progress.failure("box", Path("/state/envs/box/build.log"), 1)
    assert isinstance(error, BuildError)
    assert error.message.startswith(
        'building box failed at Step 3/3 : RUN ["/bin/sh", "-eu", "-c", "echo boom-output; exit 3"]'
    )
    assert "exit code: 3" in error.message and "last output:\n    boom-output" in error.message
    assert error.hint == "full log: /state/envs/box/build.log"


def test_a_cli_that_cannot_start_buildkit_is_told_apart() -> None:
    progress = PlainProgress(io.StringIO())
    progress.feed("ERROR: BuildKit is enabled but the buildx component is missing or broken.\n")
    assert not progress.started and "buildx component is missing" in progress.last


@pytest.mark.parametrize("code", [0, 1])
def test_builds_that_never_started_fall_back(tmp_path: Path, code: int) -> None:
    """A CLI that prints no `#N` line: None (build another way), never an error."""
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho 'ERROR: no BuildKit here' >&2\nexit {1 + code}\n")
    fake.chmod(0o755)
    seen: list[str] = []
    got = buildkit.build(
        buildkit.BuildkitCli(str(fake), buildx=False),
        Connection("unix:///nowhere.sock", "default socket"),
        "devenv/x:1",
        "x",
        tmp_path / "build.log",
        seen.append,
        {},
        tmp_path,
    )
    assert got is None and "no BuildKit here" in seen[-1]
    buildkit._REFUSED.discard(str(fake))


def test_a_failure_outside_any_steps_command_is_not_a_step_failure() -> None:
    progress = PlainProgress(io.StringIO())
    for line in FAILED.splitlines():
        progress.feed(line)
    assert progress.ran_step
    bridge = PlainProgress(io.StringIO())
    bridge.feed('#5 [2/3] RUN ["/bin/sh", "-c", "true"]\n')
    bridge.feed("#5 ERROR: executor failed running [/bin/sh -c true]: network bridge not found\n")
    assert bridge.started and not bridge.ran_step
