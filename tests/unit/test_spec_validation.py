"""Every validation rule of the spec, each with the exact `line:col: message` a user sees."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from devenv.errors import SpecError
from devenv.spec.loader import MAX_BYTES, SpecFile, load_all
from devenv.spec.models import Base, Port, Shared, Spec, Sshd, User

Problems = Callable[[str], list[str]]
Load = Callable[[str], SpecFile]

KNOWN_TOP = ", ".join(Spec.model_fields)
NAME_RULE = (
    "use lowercase letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. php-8)"
)
PACKAGE_RULE = "use a Debian package name, with =VERSION if pinned (e.g. git or curl=7.88.1-10)"
URL_RULE = "use an http or https URL (e.g. http://deb.debian.org/debian)"
BASE_ONE = (
    "base needs exactly one of 'image', 'bootstrap' or 'dockerfile' (e.g. base: debian:bookworm)"
)
EMPTY_COMMAND = (
    "command is empty: give one (e.g. [sleep, infinity]), or omit it to keep the box running idle"
)
RUN_CONTROL = (
    "a run step contains a control character: only tabs and newlines may appear (e.g. make install)"
)
USER_RULE = (
    "use up to 32 lowercase letters, digits, '_' or '-', starting with a letter or '_' (e.g. dev)"
)


def problems_of(path: Path) -> list[str]:
    """The problems of the spec file at `path`, as 'line:col: message'."""
    with pytest.raises(SpecError) as info:
        load_all([path])
    return [f"{p.line}:{p.col}: {p.message}" for p in info.value.problems]


def problems_of_bytes(tmp_path: Path, data: bytes) -> list[str]:
    path = tmp_path / "box.yaml"
    path.write_bytes(data)
    return problems_of(path)


# --- YAML itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: a\nbase: debian\n  apt: x\n",
            "3:6: YAML syntax error: mapping values are not allowed here",
        ),
        (
            "name: 'abc\n",
            "2:1: YAML syntax error: while scanning a quoted scalar, "
            "found unexpected end of stream",
        ),
        (
            'ports:\n  - "8080:80"\n   - 1\n',
            "3:4: YAML syntax error: while parsing a block collection, expected <block end>, "
            "but found '<block sequence start>'",
        ),
        (
            "base: [\n",
            "2:1: YAML syntax error: while parsing a flow node, expected the node content, "
            "but found '<stream end>'",
        ),
        (
            "apt:\n\tpackages: [git]\n",
            "2:1: YAML syntax error: while scanning for the next token, "
            "found character '\\t' that cannot start any token",
        ),
        ("name: a\nbase: *nowhere\n", "2:7: YAML syntax error: found undefined alias 'nowhere'"),
        (
            "name: a\n---\nname: b\n",
            "2:1: YAML syntax error: expected a single document in the stream, "
            "but found another document",
        ),
        (
            "name: !!python/name:os.system\n",
            "1:7: YAML syntax error: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/name:os.system'",
        ),
    ],
    ids=[
        "bad-indent",
        "unclosed-quote",
        "bad-sequence",
        "unclosed-flow",
        "tab",
        "alias",
        "two-documents",
        "python-tag",
    ],
)
def test_yaml_syntax_errors_are_located(problems: Problems, text: str, expected: str) -> None:
    assert problems(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: a\nbase: debian\nname: b\n", "3:1: duplicate key 'name'"),
        ("name: a\n'name': b\n", "2:1: duplicate key 'name'"),
        ("apt:\n  packages: [git]\n  packages: [vim]\n", "3:3: duplicate key 'packages'"),
        ("ports:\n  - {host: 1, host: 2, container: 3}\n", "2:15: duplicate key 'host'"),
        ("env:\n  A: x\n  B: y\n  A: z\n", "4:3: duplicate key 'A'"),
        # keys are taken as written, so YAML 1.1 cannot turn two spellings into one silently
        ("env:\n  1: a\n  '1': b\n", "3:3: duplicate key '1'"),
    ],
)
def test_duplicate_keys_point_at_the_second_one(
    problems: Problems, text: str, expected: str
) -> None:
    assert problems(text) == [expected]


def test_a_key_must_be_a_scalar(problems: Problems) -> None:
    assert problems("? [a]\n: b\n") == ["1:3: a key must be a plain value, not a list or mapping"]


def test_merge_keys_let_written_keys_override(load: Load) -> None:
    spec = load(
        """\
        shared:
          - &src {host: ./src, container: /src, readonly: true}
          - {<<: *src, container: /srv}
        """
    ).spec
    assert spec.shared == [
        Shared(host="./src", container="/src", readonly=True),
        Shared(host="./src", container="/srv", readonly=True),
    ]


def test_a_key_written_twice_beside_a_merge_is_still_a_duplicate(problems: Problems) -> None:
    text = """\
    shared:
      - &src {host: ./src, container: /src}
      - <<: *src
        container: /a
        container: /b
    """
    assert problems(text) == ["5:5: duplicate key 'container'"]


def test_in_a_merge_list_the_first_mapping_wins(load: Load) -> None:
    """As the YAML merge type says and PyYAML did before 6.0.4 (yaml/pyyaml#953, where a later
    mapping wins for keys of two letters or more): devenv resolves merges itself."""
    spec = load(
        """\
        shared:
          - &a {host: ./a, container: /a, readonly: true}
          - &b {host: ./b, container: /b}
          - {<<: [*b, *a], container: /c}
          - {<<: [*a, *b], container: /d}
        """
    ).spec
    assert spec.shared[2:] == [
        Shared(host="./b", container="/c", readonly=True),
        Shared(host="./a", container="/d", readonly=True),
    ]


def test_a_later_merge_key_wins_over_an_earlier_one(load: Load) -> None:
    spec = load(
        """\
        shared:
          - &a {host: ./a, container: /a, readonly: true}
          - &b {host: ./b, container: /b, readonly: false}
          - <<: *a
            <<: *b
            container: /c
        """
    ).spec
    assert spec.shared[2] == Shared(host="./b", container="/c", readonly=False)


def test_a_mapping_that_overrides_a_merged_key_can_be_aliased(problems: Problems) -> None:
    """Read again through its alias, its written key is still the only written one: the entry
    clashes with itself as any repeated entry does, not with a duplicate key."""
    text = """\
    shared:
      - &c {<<: {host: ./a, container: /a}, container: /c}
      - *c
    """
    assert problems(text) == ["2:5: shared entry 2 mounts /c again (shared entry 1)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "shared:\n  - &a {<<: *a, host: ./a}\n",
            "2:9: `<<` merges a mapping into itself; refusing",
        ),
        ("shared:\n  - &a {<<: {<<: *a}}\n", "2:14: `<<` merges a mapping into itself; refusing"),
        (
            "shared:\n  - {<<: [{host: ./a}, ./b]}\n",
            "2:24: YAML syntax error: while constructing a mapping, expected a mapping for merging, "
            "but found scalar",
        ),
    ],
)
def test_a_merge_of_itself_or_of_a_value_is_refused(
    problems: Problems, text: str, expected: str
) -> None:
    assert problems(text) == [expected]


def test_merges_do_not_go_through_pyyaml(load: Load, monkeypatch: pytest.MonkeyPatch) -> None:
    """PyYAML's own merging changes between releases; the loader must not depend on it."""

    def refuse(*_: object) -> None:
        raise AssertionError("PyYAML's flatten_mapping was called")

    monkeypatch.setattr(yaml.SafeLoader, "flatten_mapping", refuse)
    spec = load("shared:\n  - &a {host: ./a, container: /a}\n  - {<<: *a, container: /b}\n").spec
    assert spec.shared[1] == Shared(host="./a", container="/b")


# --- unknown keys ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "base: debian:bookworm\nsharde: []\n",
            "2:1: unknown key 'sharde' (did you mean 'shared'?)",
        ),
        (
            "imge_cache: r.example.com\n",
            "1:1: unknown key 'imge_cache' (did you mean 'image_cache'?)",
        ),
        ("colour: red\n", f"1:1: unknown key 'colour' (known: {KNOWN_TOP})"),
        (
            "name: ab\napt:\n  pakages: [git]\n",
            "3:3: unknown key 'pakages' (did you mean 'packages'?)",
        ),
        (
            "apt:\n  mirrror: http://m/debian\n",
            "2:3: unknown key 'mirrror' (did you mean 'mirror'?)",
        ),
        (
            "ports:\n  - {hots: 8080, container: 80}\n",
            "2:6: unknown key 'hots' (did you mean 'host'?)",
        ),
        (
            "ports:\n  - container: 80\n    protcol: udp\n",
            "3:5: unknown key 'protcol' (did you mean 'protocol'?)",
        ),
        (
            "shared:\n  - host: ./a\n    container: /b\n    read_only: true\n",
            "4:5: unknown key 'read_only' (did you mean 'readonly'?)",
        ),
        ("base:\n  imgae: debian\n", "2:3: unknown key 'imgae' (did you mean 'image'?)"),
        (
            "base:\n  image: debian:bookworm\n  registry-mirror: r.example.com\n",
            "3:3: unknown key 'registry-mirror' (did you mean 'registry_mirror'?)",
        ),
        (
            "user: dev\nsshd:\n  authorised_keys: []\n",
            "3:3: unknown key 'authorised_keys' (did you mean 'authorized_keys'?)",
        ),
        ("user:\n  name: dev\n  uidd: 1000\n", "3:3: unknown key 'uidd' (did you mean 'uid'?)"),
        (
            "volumes:\n  - {name: v, container: /v, readonly: true, nmae: x}\n",
            "2:46: unknown key 'nmae' (did you mean 'name'?)",
        ),
    ],
    ids=[
        "top",
        "top-underscore",
        "top-no-match",
        "apt-packages",
        "apt-mirror",
        "ports-flow",
        "ports-block",
        "shared",
        "base",
        "base-registry",
        "sshd",
        "user",
        "volumes",
    ],
)
def test_unknown_keys_suggest_the_closest_known_one(
    problems: Problems, text: str, expected: str
) -> None:
    assert problems(text) == [expected]


def test_a_misspelt_required_key_reports_both_the_typo_and_the_gap(problems: Problems) -> None:
    assert problems("shared:\n  - {host: ./a, contianer: /b}\n") == [
        "2:5: missing required key 'shared[0].container'",
        "2:17: unknown key 'contianer' (did you mean 'container'?)",
    ]


def test_every_problem_of_a_file_is_reported_at_once(problems: Problems) -> None:
    text = """\
    name: Web
    ports:
      - 70000
    workdir: srv
    """
    assert problems(text) == [
        f"1:7: name: 'Web' is not valid: {NAME_RULE}",
        "3:5: ports[0].container: 70000 is out of range "
        "(input should be less than or equal to 65535)",
        f"4:10: workdir: 'srv' is not valid: {ABS}",
    ]


# --- wrong types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: 5\n", "1:7: name: expected a string, got 5"),
        ("name: [a]\n", "1:7: name: expected a string, got ['a']"),
        ("base: 5\n", "1:7: base: expected a mapping, got 5"),
        ("apt: [git]\n", "1:6: apt: expected a mapping, got ['git']"),
        ("apt:\n  packages: git\n", "2:13: apt.packages: expected a list, got 'git'"),
        ("ports: 8080\n", "1:8: ports: expected a list, got 8080"),
        (
            "ports: [true]\n",
            "1:9: ports[0]: true is not valid: a boolean is not a port; use a port number or "
            "HOST:CONTAINER (e.g. 8080:80)",
        ),
        ("ports:\n  - {container: x}\n", "2:17: ports[0].container: expected an integer, got 'x'"),
        (
            "ports:\n  - {container: 80, protocol: sctp}\n",
            "2:31: ports[0].protocol: 'sctp' is not allowed; input should be 'tcp' or 'udp'",
        ),
        ("shared: ./a:/b\n", "1:9: shared: expected a list, got './a:/b'"),
        (
            "shared:\n  - {host: ./a, container: /b, readonly: maybe}\n",
            "2:42: shared[0].readonly: expected true or false, got 'maybe'",
        ),
        ("sshd: 5\n", "1:7: sshd: expected a mapping, got 5"),
        ("user: 5\n", "1:7: user: expected a mapping, got 5"),
        ("user: {name: dev, uid: x}\n", "1:24: user.uid: expected an integer, got 'x'"),
        (
            "user: {name: dev, gid: -1}\n",
            "1:24: user.gid: -1 is out of range (input should be greater than or equal to 0)",
        ),
        ("env: [A]\n", "1:6: env: expected a mapping, got ['A']"),
        ("env:\n  A: [1]\n", "2:6: env.A: expected a string, got [1]"),
        ("env:\n  A: null\n", "2:6: env.A: expected a string, got None"),
        ("workdir: 5\n", "1:10: workdir: expected a string, got 5"),
        ("command: 5\n", "1:10: command: expected a list, got 5"),
        ("run: echo hi\n", "1:6: run: expected a list, got 'echo hi'"),
        ("run:\n  - ok\n  - 5\n", "3:5: run[1]: expected a string, got 5"),
    ],
)
def test_wrong_types_say_what_was_expected(problems: Problems, text: str, expected: str) -> None:
    assert problems(text) == [expected]


# --- ports -------------------------------------------------------------------------------

GE1 = "is out of range (input should be greater than or equal to 1)"
LE65535 = "is out of range (input should be less than or equal to 65535)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ports:\n  - 0\n", f"2:5: ports[0].container: 0 {GE1}"),
        ("ports:\n  - 65536\n", f"2:5: ports[0].container: 65536 {LE65535}"),
        ("ports:\n  - '70000:80'\n", f"2:5: ports[0].host: 70000 {LE65535}"),
        ("ports:\n  - '0:80'\n", f"2:5: ports[0].host: 0 {GE1}"),
        ("ports:\n  - '8080:0'\n", f"2:5: ports[0].container: 0 {GE1}"),
        ("ports:\n  - '8080:65536/udp'\n", f"2:5: ports[0].container: 65536 {LE65535}"),
        ("ports:\n  - {host: 0, container: 80}\n", f"2:12: ports[0].host: 0 {GE1}"),
        (
            "ports:\n  - {host: 8080, container: 70000}\n",
            f"2:29: ports[0].container: 70000 {LE65535}",
        ),
        (
            "ports:\n  - 22\n  - {host: 65536, container: 80}\n",
            f"3:12: ports[1].host: 65536 {LE65535}",
        ),
    ],
)
def test_ports_outside_1_to_65535_are_rejected(
    problems: Problems, text: str, expected: str
) -> None:
    assert problems(text) == [expected]


def test_ports_at_the_edges_of_the_range_are_fine(load: Load) -> None:
    assert load("ports:\n  - '1:65535'\n").spec.ports == [Port(host=1, container=65535)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ports:\n  - 'abc'\n",
            "2:5: ports[0]: 'abc' is not valid: use [BIND:]HOST:CONTAINER[/udp] or CONTAINER "
            "(e.g. 8080:80)",
        ),
        (
            "ports:\n  - '80/sctp'\n",
            "2:5: ports[0]: '80/sctp' is not valid: use [BIND:]HOST:CONTAINER[/udp] or CONTAINER "
            "(e.g. 8080:80)",
        ),
        (
            "ports:\n  - '1.2.3.4:80'\n",
            "2:5: ports[0]: '1.2.3.4:80' is not valid: a bind address needs a host port "
            "(e.g. 127.0.0.1:8080:80)",
        ),
        (
            "ports:\n  - {host: 8080, container: 80, bind: nothere}\n",
            "2:39: ports[0].bind: 'nothere' is not valid: use an IP address (e.g. 127.0.0.1)",
        ),
        ("ports:\n  - {host: 8080}\n", "2:5: missing required key 'ports[0].container'"),
    ],
)
def test_malformed_ports_say_which_entry_and_why(
    problems: Problems, text: str, expected: str
) -> None:
    assert problems(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ports:\n  - '8080:80'\n  - '8080:81'\n",
            "3:5: ports: entry 2 publishes host port 8080 again (entry 1 already does)",
        ),
        (
            "ports:\n  - '8080:80'\n  - 9000\n  - {host: 8080, container: 81}\n",
            "4:5: ports: entry 3 publishes host port 8080 again (entry 1 already does)",
        ),
        (
            "ports:\n  - '127.0.0.1:2222:22'\n  - '2222:23'\n",
            "3:5: ports: entry 2 publishes host port 2222 again (entry 1 already does)",
        ),
        (
            "ports:\n  - '8080:80'\n  - '8081:80'\n",
            "3:5: ports: entry 2 publishes container port 80 again (entry 1 already does)",
        ),
        (
            "ports:\n  - 80\n  - {container: 80}\n",
            "3:5: ports: entry 2 publishes container port 80 again (entry 1 already does)",
        ),
        (
            "ports:\n  - 53/udp\n  - 22\n  - '5353:53/udp'\n",
            "4:5: ports: entry 3 publishes container port 53 again (entry 1 already does)",
        ),
    ],
    ids=[
        "host",
        "host-third-entry",
        "host-default-bind",
        "container",
        "container-forms",
        "container-udp",
    ],
)
def test_duplicate_ports_point_at_the_second_entry(
    problems: Problems, text: str, expected: str
) -> None:
    assert problems(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "ports:\n  - '53:53'\n  - '53:53/udp'\n",  # same numbers, other protocol
        "ports:\n  - '127.0.0.1:8080:80'\n  - '127.0.0.2:8080:81'\n",  # same port, other address
    ],
)
def test_the_same_number_on_another_protocol_or_address_is_no_clash(load: Load, text: str) -> None:
    assert len(load(text).spec.ports) == 2


# --- container paths and mounts ----------------------------------------------------------

ABS = "use an absolute path, from / (e.g. /var/www)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("shared:\n  - ./a:b\n", f"2:5: shared[0].container: 'b' is not valid: {ABS}"),
        (
            "shared:\n  - {host: ./a, container: var/www}\n",
            f"2:28: shared[0].container: 'var/www' is not valid: {ABS}",
        ),
        ("workdir: var/www\n", f"1:10: workdir: 'var/www' is not valid: {ABS}"),
        ("workdir: ~/src\n", f"1:10: workdir: '~/src' is not valid: {ABS}"),
        (
            "volumes:\n  - {name: v, container: data}\n",
            f"2:26: volumes[0].container: 'data' is not valid: {ABS}",
        ),
        (
            "shared:\n  - ./a:/\n",
            "2:5: shared[0].container: a shared folder cannot be mounted over / itself: "
            "use a folder (e.g. /var/www)",
        ),
    ],
)
def test_container_paths_must_be_absolute(problems: Problems, text: str, expected: str) -> None:
    assert problems(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "shared:\n  - ./a:/b\n  - ./c:/b\n",
            "3:5: shared entry 2 mounts /b again (shared entry 1)",
        ),
        (
            "shared:\n  - ./a:/b/\n  - {host: ./c, container: /x/../b}\n",
            "3:5: shared entry 2 mounts /b again (shared entry 1)",
        ),
        (
            "shared:\n  - ./a:/b\nvolumes:\n  - {name: v, container: /b}\n",
            "4:5: volumes entry 1 mounts /b again (shared entry 1)",
        ),
        (
            "volumes:\n  - {name: h, container: /home/dev}\n  - {name: i, container: /home/dev}\n",
            "3:5: volumes entry 2 mounts /home/dev again (volumes entry 1)",
        ),
    ],
    ids=["shared-shared", "normalised-paths", "shared-volume", "volume-volume"],
)
def test_duplicate_mount_points_point_at_the_second(
    problems: Problems, text: str, expected: str
) -> None:
    assert problems(text) == [expected]


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Web", "-web", "_web", ".web", "web box", "web/1", "wéb", ""])
def test_names_outside_the_pattern_are_rejected(problems: Problems, name: str) -> None:
    assert problems(f"name: '{name}'\n") == [f"1:7: name: {name!r} is not valid: {NAME_RULE}"]


@pytest.mark.parametrize("name", ["x-end-", "x..y", "x", "a._b", "a.-b", "web_", "9."])
def test_names_docker_cannot_use_are_rejected_where_written(problems: Problems, name: str) -> None:
    """Issue 19: these validated, then failed at apply as "cannot reach the Docker engine"."""
    (problem,) = problems(f"name: '{name}'\n")
    assert problem.startswith(f"1:7: name: {name!r} is not valid: docker names the image")


@pytest.mark.parametrize("name", ["ab", "0db", "web-1.dev_2", "a__b", "a--b"])
def test_names_inside_the_pattern_are_kept(load: Load, name: str) -> None:
    assert load(f"name: {name}\n").spec.name == name


def test_the_file_stem_is_the_default_name(write_spec: Callable[..., Path]) -> None:
    (spec_file,) = load_all([write_spec("base: debian:bookworm\n", name="web-1.yml")])
    assert spec_file.spec.name == "web-1"


def test_an_explicit_name_wins_over_the_stem(write_spec: Callable[..., Path]) -> None:
    (spec_file,) = load_all([write_spec("name: web\n", name="My Box.yaml")])
    assert spec_file.spec.name == "web"


def test_an_invalid_stem_without_a_name_asks_for_one(write_spec: Callable[..., Path]) -> None:
    path = write_spec("base: debian:bookworm\n", name="My Box.yaml")
    assert problems_of(path) == [
        f"1:1: file name 'My Box' is not a valid env name ({NAME_RULE}); add a 'name:' key"
    ]


# --- apt ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "package", ["PHP", "a", "-php", "php cli", "php;id", "php=", "php=1 2", "lib:amd64"]
)
def test_apt_packages_must_be_debian_names(problems: Problems, package: str) -> None:
    text = f"apt:\n  packages:\n    - git\n    - '{package}'\n"
    assert problems(text) == [f"4:7: apt.packages[1]: {package!r} is not valid: {PACKAGE_RULE}"]


@pytest.mark.parametrize(
    "package",
    ["php-cli", "g++", "libstdc++6", "php=1.2-3", "php8.2=8.2.7-1~deb12u1", "vim=2:9.0.1378-2"],
)
def test_debian_names_with_optional_versions_are_kept(load: Load, package: str) -> None:
    assert load(f"apt:\n  packages: ['{package}']\n").spec.apt.packages == [package]


def test_a_package_listed_twice_is_rejected(problems: Problems) -> None:
    assert problems("apt:\n  packages: [git, vim, git]\n") == [
        "2:13: apt.packages: git listed twice: list each package once"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://deb.example.org/debian",
        "file:///srv/debian",
        "deb.example.org/debian",
        "http:///debian",
        "http://deb.example.org/debian bookworm",
        "http://user@deb.example.org/debian",
    ],
)
def test_mirror_urls_must_be_http_or_https(problems: Problems, url: str) -> None:
    assert problems(f"apt:\n  mirror: '{url}'\n") == [
        f"2:11: apt.mirror: {url!r} is not valid: {URL_RULE}"
    ]
    base = f"base:\n  bootstrap: debian:bookworm\n  mirror: '{url}'\n"
    assert problems(base) == [f"3:11: base.mirror: {url!r} is not valid: {URL_RULE}"]


def test_mirror_urls_lose_their_trailing_slash(load: Load) -> None:
    spec = load("apt:\n  mirror: https://mirror.example.com:8443/debian/\n").spec
    assert spec.apt.mirror == "https://mirror.example.com:8443/debian"


# --- env ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["''", "'A=B'", '"A\\0B"'])
def test_env_keys_are_what_docker_accepts(problems: Problems, key: str) -> None:
    shown = yaml.safe_load(key)
    assert problems(f"env:\n  OK: x\n  {key}: y\n") == [
        f"3:3: env.{shown}: {shown!r} is not valid: use any text without '=' or a NUL byte, "
        "as Docker does (e.g. APP_ENV)"
    ]


def test_env_keys_docker_accepts_are_kept(load: Load) -> None:
    env = load("env:\n  discovery.type: single-node\n  A-B: x\n  1A: y\n  'A B': z\n").spec.env
    assert env == {"discovery.type": "single-node", "A-B": "x", "1A": "y", "A B": "z"}


def test_env_numbers_and_booleans_become_the_text_written(load: Load) -> None:
    env = load(
        """\
        env:
          PORT: 8080
          DEBUG: true
          RATIO: 1.5
          VERSION: 8.10
          MODE: 0755
          ON: yes
          EMPTY: ''
        """
    ).spec.env
    assert env == {
        "PORT": "8080",
        "DEBUG": "true",
        "RATIO": "1.5",
        "VERSION": "8.10",
        "MODE": "0755",
        "ON": "yes",
        "EMPTY": "",
    }


def test_duplicate_env_names_across_files_point_at_the_second_name(tmp_path: Path) -> None:
    first = tmp_path / "a.yaml"
    first.write_text("name: web\n")
    second = tmp_path / "b.yaml"
    second.write_text("# the same box again\nbase: debian:bookworm\nname:   web\n")
    with pytest.raises(SpecError) as info:
        load_all([first, second])
    assert [str(p) for p in info.value.problems] == [
        f"{second}:3:9: env name 'web' is already used by {first}"
    ]


def test_a_stem_name_can_clash_with_a_written_name(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text("base: debian:bookworm\n")
    (tmp_path / "z.yaml").write_text("name: web\n")
    with pytest.raises(SpecError) as info:
        load_all([tmp_path])
    assert [str(p) for p in info.value.problems] == [
        f"{tmp_path / 'z.yaml'}:1:7: env name 'web' is already used by {tmp_path / 'web.yaml'}"
    ]


def test_problems_of_several_files_come_together(tmp_path: Path) -> None:
    (tmp_path / "aa.yaml").write_text("name: web\n")
    (tmp_path / "bb.yaml").write_text("name: web\n")
    (tmp_path / "cc.yaml").write_text("ports: [0]\n")
    with pytest.raises(SpecError) as info:
        load_all([tmp_path])
    assert [(Path(p.path).name, p.line, p.col) for p in info.value.problems] == [
        ("bb.yaml", 1, 7),
        ("cc.yaml", 1, 9),
    ]


# --- files that are not specs ------------------------------------------------------------

EMPTY = "1:1: file is empty; a spec needs at least a base or a name"


@pytest.mark.parametrize(
    "text",
    ["", "\n\n   \n", "# yaml-language-server: $schema=../schemas/devenv.schema.json\n# nothing\n"],
    ids=["empty", "blank", "comments"],
)
def test_empty_and_comment_only_files_are_rejected(problems: Problems, text: str) -> None:
    assert problems(text) == [EMPTY]


def test_a_file_over_1_mib_is_rejected_before_parsing(tmp_path: Path) -> None:
    data = b"name: big\n" + b"#" * MAX_BYTES
    assert problems_of_bytes(tmp_path, data) == [
        f"1:1: file is {len(data)} bytes; specs are limited to 1 MiB"
    ]


def test_a_file_of_exactly_1_mib_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    head = b"name: big\n"
    path.write_bytes(head + b"#" * (MAX_BYTES - len(head)))
    assert path.stat().st_size == 1024 * 1024
    (spec_file,) = load_all([path])
    assert spec_file.spec.name == "big"


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""
BOMB = "YAML expands to too many nodes (an alias bomb?); refusing"


def test_an_alias_bomb_is_refused_quickly(problems: Problems) -> None:
    start = time.monotonic()
    found = problems(BILLION_LAUGHS)
    assert time.monotonic() - start < 2
    assert found == [f"1:4: {BOMB}"]


def test_an_alias_bomb_inside_a_known_key_is_refused(problems: Problems) -> None:
    text = "run: &r0 [a, b]\n" + "".join(f"x{i}: &r{i + 1} [*r{i}, *r{i}]\n" for i in range(30))
    start = time.monotonic()
    assert problems(text) == [f"1:6: {BOMB}"]
    assert time.monotonic() - start < 2


def test_a_self_referencing_alias_is_refused(problems: Problems) -> None:
    assert problems("run: &a [*a]\n") == [f"1:6: {BOMB}"]


def test_absurdly_deep_nesting_is_refused_without_a_crash(problems: Problems) -> None:
    (found,) = problems("run: " + "[" * 600 + "]" * 600 + "\n")  # past Python's recursion limit
    assert found.startswith("1:")
    assert found.endswith(": YAML is nested too deeply; refusing")


def test_moderately_deep_nesting_is_refused_by_the_node_limit(problems: Problems) -> None:
    assert problems("run: " + "[" * 100 + "]" * 100 + "\n") == [f"1:46: {BOMB}"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"name: a\nbase: deb\xff\xfeian\n", "2:10: file is not UTF-8 text"),
        (b"env:\n  CITY: M\xfcnchen\n", "2:10: file is not UTF-8 text"),
        ("name: a\n".encode("utf-16"), "1:1: file is not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "1:1: file is not UTF-8 text"),
    ],
    ids=["bad-bytes", "latin-1", "utf-16", "png"],
)
def test_non_utf8_input_points_at_the_bad_byte(tmp_path: Path, data: bytes, expected: str) -> None:
    assert problems_of_bytes(tmp_path, data) == [expected]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"name: a\x00\n", "1:8: character 0x0000 is not allowed in YAML (is this a binary file?)"),
        (
            b"name: a\nbase: deb\x00ian\n",
            "2:10: character 0x0000 is not allowed in YAML (is this a binary file?)",
        ),
        (
            b"\x7fELF\x02\x01\x01\x00",
            "1:1: character 0x007f is not allowed in YAML (is this a binary file?)",
        ),
    ],
    ids=["nul", "nul-line-2", "elf"],
)
def test_binary_input_is_a_located_problem(tmp_path: Path, data: bytes, expected: str) -> None:
    assert problems_of_bytes(tmp_path, data) == [expected]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: bom\n")
    (spec_file,) = load_all([path])
    assert spec_file.spec.name == "bom"


@pytest.mark.parametrize(
    "text",
    ["- a\n- b\n", "just a string\n", "42\n", "null\n", "---\n"],
    ids=["list", "string", "number", "null", "empty-document"],
)
def test_a_top_level_that_is_not_a_mapping_is_rejected(problems: Problems, text: str) -> None:
    assert problems(text) == ["1:1: a spec must be a mapping of keys to values"]


# --- base --------------------------------------------------------------------------------


def test_base_defaults_to_debian_bookworm(load: Load) -> None:
    assert load("name: ab\n").spec.base == Base(image="debian:bookworm")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("base: ubuntu:24.04\n", Base(image="ubuntu:24.04")),
        (
            "base: registry.example.com:5000/team/php:8.2@sha256:" + "a" * 64 + "\n",
            Base(image="registry.example.com:5000/team/php:8.2@sha256:" + "a" * 64),
        ),
        (
            "base: {image: centos:7, registry_mirror: 'https://registry.example.com/'}\n",
            Base(image="centos:7", registry_mirror="registry.example.com"),
        ),
        (
            "base:\n  bootstrap: debian:bookworm\n  mirror: http://deb.example.org/debian/\n",
            Base(bootstrap="debian:bookworm", mirror="http://deb.example.org/debian"),
        ),
        (
            "base: {bootstrap: 'ubuntu:noble', mirror: 'http://m/ubuntu', variant: apt}\n",
            Base(bootstrap="ubuntu:noble", mirror="http://m/ubuntu", variant="apt"),
        ),
    ],
    ids=["string", "reference-with-digest", "registry-mirror", "bootstrap", "bootstrap-variant"],
)
def test_base_forms_normalise(load: Load, text: str, expected: Base) -> None:
    assert load(text).spec.base == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "base:\n  image: debian\n  bootstrap: debian:bookworm\n",
            f"2:3: base: {BASE_ONE}",
        ),
        ("base: {}\n", f"1:7: base: {BASE_ONE}"),
        (
            "base:\n  registry_mirror: r.example.com\n",
            f"2:3: base: {BASE_ONE}",
        ),
        (
            "base:\n  image: debian\n  mirror: http://m/debian\n",
            "2:3: base: 'mirror' applies to 'bootstrap'; use 'registry_mirror' with 'image'",
        ),
        (
            "base:\n  bootstrap: debian:bookworm\n  mirror: http://m/debian\n"
            "  registry_mirror: r.example.com\n",
            "2:3: base: 'registry_mirror' applies to 'image', not to 'bootstrap'",
        ),
        (
            "base:\n  bootstrap: debian:bookworm\n",
            "2:3: base: 'bootstrap' needs 'mirror', the apt mirror URL to bootstrap from "
            "(e.g. mirror: http://deb.debian.org/debian)",
        ),
        (
            "base: Debian:Bookworm\n",
            "1:7: base.image: 'Debian:Bookworm' is not valid: use an image reference, "
            "[REGISTRY/]NAME[:TAG][@DIGEST] (e.g. debian:bookworm)",
        ),
        (
            "base: {bootstrap: 'fedora:40', mirror: 'http://m/debian'}\n",
            "1:19: base.bootstrap: 'fedora:40' is not valid: use debian:SUITE or ubuntu:SUITE "
            "(e.g. debian:bookworm)",
        ),
        (
            "base: {bootstrap: 'debian:bookworm', mirror: 'http://m/debian', variant: huge}\n",
            "1:74: base.variant: 'huge' is not allowed; input should be 'minbase', 'apt', "
            "'required', "
            "'important' or 'standard'",
        ),
    ],
    ids=[
        "image-and-bootstrap",
        "neither",
        "mirror-only",
        "image-with-mirror",
        "bootstrap-with-registry-mirror",
        "bootstrap-without-mirror",
        "bad-image",
        "bad-suite",
        "bad-variant",
    ],
)
def test_base_forms_exclude_each_other(problems: Problems, text: str, expected: str) -> None:
    assert problems(text) == [expected]


# --- short forms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("'8080:80'", Port(host=8080, container=80, bind="127.0.0.1", protocol="tcp")),
        ("'127.0.0.1:8080:80'", Port(host=8080, container=80, bind="127.0.0.1")),
        ("'0.0.0.0:2222:22'", Port(host=2222, container=22, bind="0.0.0.0")),
        ("'[::1]:8080:80'", Port(host=8080, container=80, bind="::1")),
        ("9000", Port(container=9000)),
        ("'9000'", Port(container=9000)),
        ("'53/udp'", Port(container=53, protocol="udp")),
        ("'5353:53/udp'", Port(host=5353, container=53, protocol="udp")),
        (
            "{host: 2222, container: 22, bind: 0.0.0.0}",
            Port(host=2222, container=22, bind="0.0.0.0"),
        ),
        ("{container: 80}", Port(container=80, host=None, bind="127.0.0.1", protocol="tcp")),
    ],
)
def test_port_forms_normalise(load: Load, entry: str, expected: Port) -> None:
    (port,) = load(f"ports:\n  - {entry}\n").spec.ports
    assert port == expected


def test_ports_bind_to_loopback_unless_told_otherwise(load: Load) -> None:
    spec = load("ports:\n  - '8080:80'\n  - '0.0.0.0:2222:22'\n").spec
    assert [p.exposed for p in spec.ports] == [False, True]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("./src:/var/www", Shared(host="./src", container="/var/www", readonly=False, create=True)),
        ("./src:/var/www:ro", Shared(host="./src", container="/var/www", readonly=True)),
        ("./src:/var/www:rw", Shared(host="./src", container="/var/www", readonly=False)),
        (
            "{host: ~/data, container: /data/, readonly: true}",
            Shared(host="~/data", container="/data", readonly=True),
        ),
        (
            "{host: ./cache, container: /cache, create: false}",
            Shared(host="./cache", container="/cache", create=False),
        ),
    ],
)
def test_shared_forms_normalise(load: Load, entry: str, expected: Shared) -> None:
    (shared,) = load(f"shared:\n  - {entry}\n").spec.shared
    assert shared == expected


@pytest.mark.parametrize("entry", ["src", "./a:/b:xx", ":/b", "./a:"])
def test_malformed_shared_short_forms_are_rejected(problems: Problems, entry: str) -> None:
    assert problems(f"shared:\n  - '{entry}'\n") == [
        f"2:5: shared[0]: {entry!r} is not valid: use HOST:CONTAINER[:ro] (e.g. ./src:/var/www)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("user: dev\nsshd: true\n", Sshd(authorized_keys=[])),
        ("user: dev\nsshd: false\n", None),
        ("user: dev\n", None),
        (
            "user: dev\nsshd:\n  authorized_keys: [~/.ssh/id_ed25519.pub]\n",
            Sshd(authorized_keys=["~/.ssh/id_ed25519.pub"]),
        ),
    ],
    ids=["true", "false", "omitted", "mapping"],
)
def test_sshd_forms_normalise(load: Load, text: str, expected: Sshd | None) -> None:
    assert load(text).spec.sshd == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("user: dev\n", User(name="dev", uid=None, gid=None)),
        ("user: {name: dev, uid: 1000, gid: 1001}\n", User(name="dev", uid=1000, gid=1001)),
        ("name: ab\n", None),
    ],
)
def test_user_forms_normalise(load: Load, text: str, expected: User | None) -> None:
    assert load(text).spec.user == expected


def test_user_names_follow_the_useradd_rules(problems: Problems) -> None:
    assert problems("user: Dev\n") == [f"1:7: user.name: 'Dev' is not valid: {USER_RULE}"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("command: php -S 0.0.0.0:80\n", ["php", "-S", "0.0.0.0:80"]),
        ("command: \"php -t '/var/www/my site'\"\n", ["php", "-t", "/var/www/my site"]),
        ("command: [php, -S, '0.0.0.0:80']\n", ["php", "-S", "0.0.0.0:80"]),
        ("name: ab\n", None),
    ],
)
def test_a_command_string_is_split_like_a_shell(load: Load, text: str, expected: object) -> None:
    assert load(text).spec.command == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "command: 'php \"unclosed'\n",
            "1:10: command: command cannot be split into words: No closing quotation",
        ),
        ("command: []\n", f"1:10: command: {EMPTY_COMMAND}"),
        ("command: ''\n", f"1:10: command: {EMPTY_COMMAND}"),
    ],
)
def test_unusable_commands_are_rejected(problems: Problems, text: str, expected: str) -> None:
    assert problems(text) == [expected]


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("'   '", "3:5: run[1]: a run step is empty: give it a shell command (e.g. make install)"),
        ('"echo \\x01"', f"3:5: run[1]: {RUN_CONTROL}"),
        ('"echo a\\rRUN id"', f"3:5: run[1]: {RUN_CONTROL}"),
    ],
)
def test_bad_run_steps_point_at_the_step(problems: Problems, step: str, expected: str) -> None:
    assert problems(f"run:\n  - echo ok\n  - {step}\n") == [expected]


def test_the_example_envs_normalise_to_the_documented_model(load: Load) -> None:
    spec = load((Path(__file__).resolve().parents[2] / "envs" / "php.yaml").read_text()).spec
    assert spec.name == "php"
    assert spec.ports == [Port(host=8080, container=80), Port(host=2222, container=22)]
    assert spec.shared == [Shared(host="./src", container="/var/www/html")]
    assert spec.user == User(name="dev")
    assert spec.sshd == Sshd(authorized_keys=["~/.ssh/id_ed25519.pub"])
    assert spec.env == {"APP_ENV": "dev"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ports: [{host: true, container: 80}]\n",
            "1:16: ports[0].host: expected a number, got true (a boolean is not a number)",
        ),
        (
            "user: {name: dev, uid: true, gid: false}\n",
            [
                "1:24: user.uid: expected a number, got true (a boolean is not a number)",
                "1:35: user.gid: expected a number, got false (a boolean is not a number)",
            ],
        ),
        ("shared: [{host: ./x, container: /x, readonly: 1}]\n", "1:47: shared[0].readonly: "),
        ("ready: {port: 80, timeout: true}\n", "1:28: ready.timeout: expected a number, got true"),
        ("docker_socket: 'yes'\n", "1:16: docker_socket: expected true or false, got 'yes'"),
    ],
)
def test_a_boolean_is_not_a_number_and_a_number_is_not_a_boolean(
    problems: Problems, text: str, expected: str | list[str]
) -> None:
    """Issue 19: `host: true` published port 1, `uid: true` made the box user daemon."""
    found = problems(text)
    want = [expected] if isinstance(expected, str) else expected
    assert len(found) == len(want), found
    assert all(f.startswith(w) for f, w in zip(found, want, strict=True)), found
