"""Variables in env values: every form, errors at file:line:col, .env and its precedence, `$$`;
labels and plans that say a value changed without ever holding it; importers that keep them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from devenv import labels as L
from devenv.converge.desired import DesiredEnv, desire
from devenv.converge.plan import plan
from devenv.engine.observed import Observed, ObservedImage
from devenv.errors import SpecError
from devenv.formats import compose, devcontainer
from devenv.formats.container import Found, draft
from devenv.formats.exporters import with_variables
from devenv.host import Host
from devenv.spec.loader import SpecFile, load_file
from devenv.spec.variables import Environment, read_dotenv
from tests.conftest import run_cli
from tests.unit.test_plan import BASE_SUMMARY, converged

SECRET = "hunter2-Secret"


def spec(tmp_path: Path, text: str, name: str = "box.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def env_of(tmp_path: Path, value: str, environ: dict[str, str]) -> dict[str, str]:
    path = spec(tmp_path, f"env:\n  V: {value}\n")
    return dict(load_file(path, Environment(tmp_path, environ)).spec.env)


def problems(path: Path, environ: dict[str, str]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_file(path, Environment(path.parent, environ))
    return [str(p) for p in caught.value.problems]


# ---- the forms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "environ", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("'${A}'", {"A": ""}, ""),  # set but empty is a value
        ("pre-${A}-post", {"A": "x"}, "pre-x-post"),
        ("${A:-dflt}", {}, "dflt"),
        ("${A:-dflt}", {"A": ""}, "dflt"),
        ("${A-dflt}", {"A": ""}, ""),  # without ':' only an unset variable takes the default
        ("${A:-}", {}, ""),
        ("'${A:?needed}'", {"A": "x"}, "x"),
        ("${A?needed}", {"A": ""}, ""),
        ("'$${A} costs $$5'", {"A": "x"}, "${A} costs $5"),  # $$ is a literal $
        ("$A and $ alone", {"A": "x"}, "$A and $ alone"),  # only the braced form is read
        ("'${A}${B:-b}'", {"A": "a"}, "ab"),
    ],
)
def test_each_form_resolves_as_compose_does(
    tmp_path: Path, value: str, environ: dict[str, str], expected: str
) -> None:
    assert env_of(tmp_path, value, environ) == {"V": expected}


def test_missing_variable_is_an_error_at_its_line_and_column(tmp_path: Path) -> None:
    path = spec(tmp_path, "name: box\nenv:\n  URL: 'db://app:${DB_PASSWORD}@db'\n  B: ${TOKEN}\n")
    found = problems(path, {})
    assert found[0].startswith(f"{path}:3:18: env.URL: variable DB_PASSWORD is not set;")
    assert "or in .env beside the spec" in found[0]
    assert found[1].startswith(f"{path}:4:6: env.B: variable TOKEN is not set;")


def test_required_form_shows_its_message(tmp_path: Path) -> None:
    path = spec(tmp_path, 'env:\n  A: "${API_KEY:?ask the team for one}"\n')
    assert problems(path, {"API_KEY": ""}) == [
        f"{path}:2:7: env.A: variable API_KEY is not set: ask the team for one"
    ]


@pytest.mark.parametrize(
    ("value", "col", "words"),
    [
        ("'x ${'", 9, "'${': '${' is not closed by '}'"),
        ("${1A}", 6, "'${1A}' is not a valid reference"),
        ("'${}'", 7, "'${}' is not a valid reference"),
        ("'${A:-${B}}'", 7, "references inside a default are not supported"),
    ],
)
def test_malformed_reference_is_an_error_where_it_is(
    tmp_path: Path, value: str, col: int, words: str
) -> None:
    path = spec(tmp_path, f"env:\n  A: {value}\n")
    (found,) = problems(path, {"A": "x", "B": "y"})
    assert found.startswith(f"{path}:2:{col}: env.A: ") and words in found


def test_variables_elsewhere_are_refused_and_shell_fields_keep_their_dollar(tmp_path: Path) -> None:
    path = spec(
        tmp_path,
        """\
        base: debian:${TAG}
        shared: ["${HOME}/src:/src"]
        run: ["echo ${HOME} $$HOME"]
        command: [sh, -c, "echo ${PATH}"]
        """,
    )
    found = [p for p in problems(path, {"TAG": "bookworm", "HOME": "/home/me"}) if "$" in p]
    assert found[0].startswith(f"{path}:1:7: base.image: 'debian:${{TAG}}' is not valid")
    assert found[1].startswith(f"{path}:1:14: base: ${{TAG}} is a variable, and variables are")
    assert found[2].startswith(f"{path}:2:11: shared[0]: ${{HOME}} is a variable")
    assert len(found) == 3  # run and command hold shell, read by the shell, not by devenv
    spec(tmp_path, 'run: ["echo ${HOME} $$HOME"]\ncommand: [sh, -c, "echo ${PATH}"]\n')
    loaded = load_file(tmp_path / "box.yaml", Environment(tmp_path, {}))
    assert loaded.spec.run == ["echo ${HOME} $$HOME"]
    assert loaded.spec.command == ["sh", "-c", "echo ${PATH}"]


# ---- .env ------------------------------------------------------------------------------------


def test_dotenv_format(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# comment\n\nA=plain value  # trailing comment\nexport B='single # kept ${X}'\n"
        'C="line\\nnext \\"q\\""\nD=\nE = spaced\nF=a#b\n'
    )
    assert read_dotenv(tmp_path / ".env") == {
        "A": "plain value",
        "B": "single # kept ${X}",
        "C": 'line\nnext "q"',
        "D": "",
        "E": "spaced",
        "F": "a#b",
    }
    assert read_dotenv(tmp_path / "missing.env") == {}


@pytest.mark.parametrize(("line", "col"), [("not a pair", 1), ("  1A=x", 3), ("A='open", 1)])
def test_bad_dotenv_line_is_an_error_at_its_line(tmp_path: Path, line: str, col: int) -> None:
    (tmp_path / ".env").write_text(f"OK=1\n{line}\n")
    path = spec(tmp_path, "env: {A: '${OK}'}\n")
    (found,) = problems(path, {})
    assert found.startswith(f"{tmp_path / '.env'}:2:{col}: expected KEY=VALUE")


def test_environment_wins_over_dotenv_and_dotenv_fills_in(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=from-file\nB=from-file\n")
    assert env_of(tmp_path, "'${A} ${B}'", {"A": "from-env"}) == {"V": "from-env from-file"}


def test_a_spec_without_variables_never_reads_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("this is not a dotenv file\n")
    assert env_of(tmp_path, "plain", {}) == {"V": "plain"}


def test_validate_lists_the_variables_each_spec_needs(tmp_path: Path) -> None:
    spec(tmp_path, "env: {A: '${TZ:-UTC}', B: 'x${DB_PASSWORD}', C: '${TZ}'}\n", "php.yaml")
    spec(tmp_path, "env: {A: plain}\n", "plain.yaml")
    (tmp_path / ".env").write_text("DB_PASSWORD=x\nTZ=UTC\n")
    result = run_cli("validate", tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{tmp_path / 'php.yaml'}: ok (php) — variables: DB_PASSWORD, TZ\n" in result.stdout
    assert f"{tmp_path / 'plain.yaml'}: ok (plain)\n" in result.stdout


def test_validate_and_render_need_no_value_and_validate_names_what_apply_will_need(
    tmp_path: Path,
) -> None:
    """The file is valid whatever is set (a teammate's CI has none of the secrets); validate
    names the variables nothing sets yet, render writes references, never a stand-in."""
    env = "env: {A: '${TZ:-UTC}', B: 'x${DB_PASSWORD}', C: '${API_KEY:?ask the team}'}\n"
    path = spec(tmp_path, env, "php.yaml")
    result = run_cli("validate", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"{path}: ok (php) — variables: API_KEY, DB_PASSWORD, TZ "
        "(not set: API_KEY, DB_PASSWORD; apply needs them)\n"
    )
    (tmp_path / ".env").write_text("DB_PASSWORD=x\nAPI_KEY=k\n")
    again = run_cli("validate", tmp_path)
    assert again.stdout == f"{path}: ok (php) — variables: API_KEY, DB_PASSWORD, TZ\n"
    (tmp_path / ".env").unlink()
    for fmt in ("compose", "devcontainer", "kubernetes"):
        rendered = run_cli("render", "--as", fmt, path)
        assert rendered.returncode == 0, rendered.stderr
        assert "DB_PASSWORD" in rendered.stdout and '"value"' not in rendered.stdout, fmt
        assert "x" + "value" not in rendered.stdout, fmt
    planned = run_cli("plan", path)  # a command that uses the values still needs them
    assert planned.returncode == 1 and "variable DB_PASSWORD is not set" in planned.stderr


# ---- labels and plans ------------------------------------------------------------------------


def desired(
    tmp_path: Path, value: str, text: str = "env: {SECRET: '${SECRET}', APP: dev}\n"
) -> DesiredEnv:
    path = spec(tmp_path, text)
    spec_file = load_file(path, Environment(tmp_path, {"SECRET": value}))
    host = Host(uid=1000, gid=1000, home=tmp_path, state_dir=tmp_path / "state")
    return desire(spec_file, Observed(images=(ObservedImage.from_summary(BASE_SUMMARY),)), host)


def test_label_records_a_hash_never_the_value_and_the_box_gets_the_value(tmp_path: Path) -> None:
    box = desired(tmp_path, SECRET)
    assert box.config["env"] == {"SECRET": SECRET, "APP": "dev"}  # what the engine applies
    label = box.labels[L.CONFIG]
    assert SECRET not in label and SECRET not in json.dumps(box.labels)
    recorded = json.loads(label)["env"]["SECRET"]
    assert recorded["from"] == "${SECRET}" and len(recorded["sha256"]) == 64
    assert box.config_hash == L.digest(json.loads(label))


def test_a_changed_value_is_a_recreate_that_names_the_variable_not_the_value(
    tmp_path: Path,
) -> None:
    before = desired(tmp_path, "old-" + SECRET)
    after = desired(tmp_path, SECRET)
    assert after.config_hash != before.config_hash
    result = plan([after], converged(before))
    (action,) = result.actions
    assert action.kind == "recreate"
    assert action.reasons == ("env: SECRET changed (from ${SECRET})",)
    text = result.to_json() + "\n".join(action.reasons)
    assert SECRET not in text and "old-" not in text
    assert plan([after], converged(after)).actions[0].kind == "noop"  # same value: no change


def test_a_literal_becoming_a_variable_says_so(tmp_path: Path) -> None:
    before = desired(tmp_path, SECRET, "env: {SECRET: plain, APP: dev}\n")
    after = desired(tmp_path, SECRET)
    (action,) = plan([after], converged(before)).actions
    assert action.reasons == ("env: SECRET changed (from ${SECRET})",)


def test_a_spec_without_variables_records_its_config_unchanged(tmp_path: Path) -> None:
    box = desired(tmp_path, SECRET, "env: {APP: '$$dev'}\n")
    assert box.recorded is box.config and box.config["env"] == {"APP": "$dev"}


def test_render_as_writes_the_reference_back_never_the_value(tmp_path: Path) -> None:
    spec_file = SpecFile(tmp_path / "x.yaml", desired(tmp_path, SECRET).spec_file.spec)
    templates = (("SECRET", "${SECRET}"), ("T", "${TZ:-UTC}"), ("U", "${U:?set U}"))
    config = {"env": {"SECRET": SECRET, "T": "UTC", "U": "u", "P": "$5"}}
    assert with_variables(config, templates, "compose")["env"] == {
        "SECRET": "${SECRET?}",  # required, as in devenv: Compose refuses to start without it
        "T": "${TZ:-UTC}",
        "U": "${U:?set U}",
        "P": "$$5",
    }
    assert with_variables(config, templates, "devcontainer")["env"] == {
        "SECRET": "${localEnv:SECRET}",
        "T": "${localEnv:TZ:UTC}",
        "U": "${localEnv:U}",
        "P": "$5",
    }
    assert spec_file.variables == []


# ---- importers keep variables ----------------------------------------------------------------


def test_compose_environment_keeps_its_variables(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        textwrap.dedent(
            """\
            services:
              app:
                image: debian:bookworm
                environment:
                  PASSWORD: ${DB_PASSWORD:?set it}
                  URL: postgres://app:$DB_PASSWORD@db/app
                  TZ: ${TZ:-UTC}
                  PRICE: $$5
                  ALT: ${X:+only-if-set}
                  FROM_SHELL:
            """
        )
    )
    (service,) = compose.read(tmp_path / "compose.yaml", tmp_path / "envs")
    assert service.keys["env"] == {
        "PASSWORD": "${DB_PASSWORD:?set it}",
        "URL": "postgres://app:${DB_PASSWORD:-}@db/app",  # Compose blanks it when unset
        "TZ": "${TZ:-UTC}",
        "PRICE": "$$5",
        "FROM_SHELL": "${FROM_SHELL:-}",  # passed through only when set
    }
    notes = "\n".join(service.notes)
    assert "environment ALT: ${X:+only-if-set} is a form of variable devenv does not read" in notes
    assert "variables DB_PASSWORD, FROM_SHELL, TZ: env reads them" in notes


def test_devcontainer_local_env_becomes_a_variable(tmp_path: Path) -> None:
    path = tmp_path / ".devcontainer" / "devcontainer.json"
    path.parent.mkdir()
    path.write_text(
        '{"image": "debian:bookworm",'
        ' "containerEnv": {"TOKEN": "${localEnv:GH_TOKEN}", "HOME_DIR": "${localEnv:HOME_DIR:/h}",'
        ' "WS": "${localWorkspaceFolderBasename}-$5",'
        ' "OTHER": "${containerEnv:PATH}"},'
        ' "runArgs": ["-e", "PW=${localEnv:PW}", "--env", "PASSTHROUGH"]}'
    )
    result = devcontainer.read(path, tmp_path / "envs", environ={"GH_TOKEN": SECRET})
    assert result.keys["env"] == {
        "TOKEN": "${GH_TOKEN:-}",  # the CLI gives "" when unset
        "HOME_DIR": "${HOME_DIR:-/h}",
        "WS": f"{tmp_path.name}-$5",
        "PW": "${PW:-}",
        "PASSTHROUGH": "${PASSTHROUGH:-}",
    }
    assert SECRET not in json.dumps(result.keys)
    assert "containerEnv.OTHER: variables (${containerEnv:PATH}) are not carried yet" in "\n".join(
        result.notes
    )


def test_container_env_is_kept_literally(tmp_path: Path) -> None:
    info = {
        "Id": "a" * 64,
        "Name": "/box",
        "Image": "sha256:" + "1" * 64,
        "Config": {"Image": "debian:bookworm", "Env": ["PS=${not a var} $$x", "P=$5"]},
        "HostConfig": {},
        "Mounts": [],
    }
    result = draft(Found(info, {"Config": {"Env": []}}), tmp_path)
    path = tmp_path / "box.yaml"
    from devenv.formats.draft import to_yaml

    path.write_text(to_yaml(result))
    env = load_file(path, Environment(tmp_path, {})).spec.env
    assert env["PS"] == "${not a var} $$x" and env["P"] == "$5"
