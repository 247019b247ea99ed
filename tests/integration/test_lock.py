"""Lock files (issue 14) on the real engine and the real Debian archive: a lock pins versions
apt alone would not pick, rebuilds the same box byte for byte, fails cleanly when the archive
lacks a pinned version, and travels in bundles. Nothing is mocked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devenv.build.lockfile import lock_path, parse
from tests.integration.conftest import BASE_IMAGE

# Packages with no dependencies the base lacks, that the archive carries in two versions
# (bookworm and bookworm-updates/-security). Prints NAME|CANDIDATE|OTHER for the first found.
FIND_TWO_VERSIONS = r"""
apt-get update -qq >/dev/null 2>&1
for f in /var/lib/apt/lists/*bookworm-updates_main_*_Packages /var/lib/apt/lists/*bookworm-security_main_*_Packages; do
  awk '/^Package:/{p=$2;d=0} /^(Pre-)?Depends:/{d=1} /^Installed-Size:/{s=$2} /^$/{if(!d) print s, p}' "$f"
done | sort -n | awk '$1 < 400 {print $2}' | while read p; do
  dpkg -s "$p" >/dev/null 2>&1 && continue
  versions=$(apt-cache madison "$p" | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -u)
  [ "$(echo "$versions" | wc -l)" -ge 2 ] || continue
  candidate=$(apt-cache policy "$p" | awk '/Candidate:/{print $2}')
  other=$(echo "$versions" | grep -vxF "$candidate" | head -1)
  echo "$p|$candidate|$other"; break
done
"""


@pytest.fixture(scope="module")
def two_versions(docker_client) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """(package, the version apt picks, another version the archive serves)."""
    out = docker_client.containers.run(
        BASE_IMAGE, ["sh", "-c", FIND_TWO_VERSIONS], remove=True
    ).decode()
    found = [line for line in out.splitlines() if line.count("|") == 2]
    assert found, f"no package with two versions in the archive:\n{out}"
    name, newer, older = found[0].split("|")
    assert newer and older and newer != older, found[0]
    return name, newer, older


def installed(docker_client, env: str) -> str:  # type: ignore[no-untyped-def]
    box = docker_client.containers.get(env)
    result = box.exec_run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\n"])
    assert result.exit_code == 0
    return str(result.output.decode())


def version_of(listing: str, package: str) -> str:
    found = re.search(rf"^{re.escape(package)}\t(\S+)$", listing, re.M)
    assert found, listing
    return found.group(1)


def pin(lock_file: Path, package: str, version: str) -> None:
    """Edit the lock as a person would: change the one package's version."""
    text = lock_file.read_text()
    edited = re.sub(rf'^(  "{re.escape(package)}": )".*"$', rf'\g<1>"{version}"', text, flags=re.M)
    assert edited != text
    lock_file.write_text(edited)


def test_a_lock_pins_versions_rebuilds_exactly_and_fails_cleanly(  # type: ignore[no-untyped-def]
    devenv, docker_client, spec_dir, name, tmp_path, two_versions
) -> None:
    package, newer, older = two_versions
    spec = spec_dir(name, f"name: {name}\nbase: {BASE_IMAGE}\napt:\n  packages: [{package}]\n")
    lock_file = lock_path(spec)

    locked = devenv("lock", str(spec))
    assert locked.code == 0, locked.err
    assert f"wrote {lock_file}" in locked.out
    text = lock_file.read_text()
    assert text.startswith("# Written by `devenv lock`")
    lock = parse(text, str(lock_file))
    assert lock.packages[package] == newer and lock.requested == (package,)
    assert lock.base == BASE_IMAGE and lock.base_identity.startswith(("id:", "digest:"))
    assert devenv("lock", "--check", str(spec)).code == 0

    # pin the version apt would NOT pick; --dry-run shows the update would move it back
    pin(lock_file, package, older)
    pinned_text = lock_file.read_text()
    preview = devenv("lock", "--update", "--dry-run", str(spec))
    assert preview.code == 0, preview.err
    assert f"{package} {older} → {newer}" in preview.out
    assert lock_file.read_text() == pinned_text  # nothing written

    applied = devenv("apply", str(spec))
    assert applied.code == 0, applied.err
    first = installed(docker_client, name)
    assert version_of(first, package) == older
    assert devenv("plan", "--detailed-exitcode", str(spec)).code == 0

    # after a crash that took the box and its images: the same packages, byte for byte
    destroyed = devenv("destroy", "--images", "--yes", str(spec))
    assert destroyed.code == 0, destroyed.err
    assert not docker_client.images.list(name=f"devenv/{name}")
    again = devenv("apply", str(spec))
    assert again.code == 0, again.err
    assert installed(docker_client, name) == first

    # the bundle carries the lock; import writes it back beside the spec
    bundle = tmp_path / "envs.tar"
    assert devenv("export", str(spec), "-o", str(bundle)).code == 0
    imported = devenv("import", str(bundle), "--to", str(tmp_path / "elsewhere"))
    assert imported.code == 0, imported.err
    assert (tmp_path / "elsewhere" / lock_file.name).read_text() == pinned_text

    # a version the archive does not have: one sentence, and the running box untouched
    box = docker_client.containers.get(name)
    pin(lock_file, package, "0.0.1-devenvtest1")
    failed = devenv("apply", "--yes", str(spec))
    assert failed.code == 1
    assert f"the apt mirror no longer serves {package} 0.0.1-devenvtest1, pinned in" in failed.err
    assert "snapshot.debian.org" in failed.err and "devenv lock --update" in failed.err
    assert "last output" not in failed.err
    box.reload()
    assert box.status == "running"
    assert docker_client.containers.get(name).id == box.id

    # --check: the spec's packages changed → 1; as locked → 0
    spec.write_text(spec.read_text().replace(f"[{package}]", f"[{package}, hello]"))
    stale = devenv("lock", "--check", str(spec))
    assert stale.code == 1
    assert "no longer matches its spec (packages added: hello)" in stale.err
    planned = devenv("plan", str(spec))
    assert planned.code == 1 and "devenv lock --update" in planned.err
    docker_client.containers.get(name).remove(force=True, v=False)
