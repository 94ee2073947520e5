"""The project config (issue 11 item 3): real pyproject.toml / lambdapack.toml files in temporary
directories, read by the real edge (config.projectfile) into the model (config.project)."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from lambdapack.config.project import Dependencies, Project
from lambdapack.config.projectfile import load_project
from lambdapack.config.settings import build_options
from lambdapack.errors import UsageError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(cwd: Path, config: Path | None = None) -> UsageError:
    with pytest.raises(UsageError) as e:
        load_project(config, cwd)
    assert e.value.exit_code == 2  # the usage/config row of errors.EXIT_CODES
    assert "\n" not in e.value.message
    return e.value


THREE_FUNCTIONS = """\
    [project]
    name = "shop"
    version = "1"

    [tool.lambdapack]
    runtime = "python3.12"
    arch = "x86_64"
    slim = "aggressive"
    compile = "off"
    cache_dir = ".cache/lp"
    output_dir = "build"
    lock = "uv.lock"
    install.index_url = "https://pypi.org/simple"

    [tool.lambdapack.functions.api]
    src = "services/api"
    handler = "app.handler"
    extras = ["web"]
    layers = ["common", "pandas"]

    [tool.lambdapack.functions.worker]
    src = "services/worker"
    handler = "worker.main"
    arch = "arm64"
    requirements = "services/worker/requirements.txt"
    layers = ["common"]
    slim = "safe"

    [tool.lambdapack.functions.cron]
    src = "services/cron"
    handler = "cron.tick"
    runtime = "3.11"
    output = "artifacts/cron.zip"
    groups = ["cron"]

    [tool.lambdapack.layers.common]
    requirements = "layers/common.txt"
    runtimes = ["python3.12"]
    architectures = ["x86_64", "aarch64"]

    [tool.lambdapack.layers.pandas]
    pyproject = "layers/pandas/pyproject.toml"
    groups = ["data"]
    install.allow_sdist = true
"""


def test_three_functions_two_layers_parse_into_the_model(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", THREE_FUNCTIONS)
    project = load_project(None, tmp_path)
    assert project.path == tmp_path / "pyproject.toml"
    assert project.output_dir == tmp_path / "build"
    assert project.defaults["cache_dir"] == tmp_path / ".cache/lp"
    assert project.defaults["install.index_url"] == "https://pypi.org/simple"
    api, worker, cron = (project.functions[n] for n in ("api", "worker", "cron"))
    assert list(project.functions) == ["api", "worker", "cron"]
    assert (api.src, api.handler, api.runtime, api.arch, api.output) == (
        tmp_path / "services/api", "app.handler", "python3.12", "x86_64", tmp_path / "build/api.zip")
    # The file's lock, with the function's own extra.
    assert api.dependencies == Dependencies(lock=tmp_path / "uv.lock", extras=("web",))
    assert api.layers == ("common", "pandas")
    # The function's requirements replace the file's lock instead of conflicting with it.
    assert worker.dependencies == Dependencies(requirements=tmp_path / "services/worker/requirements.txt")
    assert (worker.arch, worker.runtime) == ("arm64", "python3.12")
    assert (cron.runtime, cron.output, cron.layers) == ("python3.11", tmp_path / "artifacts/cron.zip", ())
    assert cron.dependencies == Dependencies(lock=tmp_path / "uv.lock", groups=("cron",))
    common, pandas = project.layers["common"], project.layers["pandas"]
    assert (common.runtimes, common.architectures) == (("python3.12",), ("x86_64", "arm64"))  # as given
    assert common.output == tmp_path / "build/layer-common.zip"
    assert common.dependencies == Dependencies(requirements=tmp_path / "layers/common.txt")
    # Not given: the runtimes and architectures of the functions that use it.
    assert (pandas.runtimes, pandas.architectures) == (("python3.12",), ("x86_64",))
    assert pandas.dependencies == Dependencies(pyproject=tmp_path / "layers/pandas/pyproject.toml", groups=("data",))
    assert pandas.own["install.allow_sdist"] is True
    # Each function's cascade gives its BuildOptions: the function's section over the file's defaults.
    worker_opts = build_options(dataclasses.replace(project.layers_for(worker), flags={}))
    assert (worker_opts.slim, worker_opts.compile, worker_opts.arch) == ("safe", "off", "arm64")
    assert (worker_opts.requirements, worker_opts.lock) == (tmp_path / "services/worker/requirements.txt", None)
    api_opts = build_options(project.layers_for(api))
    assert (api_opts.slim, api_opts.lock, api_opts.extras, api_opts.handler) == (
        "aggressive", tmp_path / "uv.lock", ("web",), "app.handler")


def test_the_same_schema_at_the_top_of_lambdapack_toml(tmp_path: Path) -> None:
    text = THREE_FUNCTIONS.split("[tool.lambdapack]\n", 1)[1].replace("tool.lambdapack.", "")
    write(tmp_path / "lambdapack.toml", text)
    write(tmp_path / "pyproject.toml", '[project]\nname = "shop"\n')  # no [tool.lambdapack]: not a config
    from_standalone = load_project(None, tmp_path)
    write(tmp_path / "pyproject.toml", THREE_FUNCTIONS)
    (tmp_path / "lambdapack.toml").unlink()
    from_pyproject = load_project(None, tmp_path)
    assert from_standalone.path == tmp_path / "lambdapack.toml"
    assert dataclasses.replace(from_standalone, path=None) == dataclasses.replace(from_pyproject, path=None)


def test_found_upwards_and_paths_relative_to_the_file(tmp_path: Path) -> None:
    write(tmp_path / "lambdapack.toml", 'runtime = "python3.13"\nsrc = "app"\nrequirements = "../reqs.txt"\n')
    # A function's own pyproject.toml without [tool.lambdapack] does not stop the search.
    deep = tmp_path / "services" / "api" / "pkg"
    write(tmp_path / "services" / "api" / "pyproject.toml", '[project]\nname = "api"\n')
    deep.mkdir(parents=True)
    project = load_project(None, deep)
    assert project.path == tmp_path / "lambdapack.toml"
    assert project.defaults == {"runtime": "python3.13", "src": tmp_path / "app",
                                "requirements": tmp_path / "../reqs.txt"}
    # The nearer config wins over the outer one.
    write(tmp_path / "services" / "pyproject.toml", '[tool.lambdapack]\nruntime = "python3.11"\n')
    assert load_project(None, deep).defaults == {"runtime": "python3.11"}


def test_no_config_is_an_empty_project(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "lambdapack-demo"\n[tool.ruff]\nline-length = 99\n')
    assert load_project(None, tmp_path) == Project(path=None)


def test_an_unrelated_broken_pyproject_upwards_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project\nname = \n")  # not ours, not TOML
    (tmp_path / "sub").mkdir()
    assert load_project(None, tmp_path / "sub").path is None


def test_config_flag_picks_the_file(tmp_path: Path) -> None:
    write(tmp_path / "conf" / "prod.toml", 'runtime = "python3.10"\ncache_dir = "c"\n')
    write(tmp_path / "lambdapack.toml", 'runtime = "python3.13"\n')  # the search would find this one
    project = load_project(Path("conf/prod.toml"), tmp_path)
    assert project.defaults == {"runtime": "python3.10", "cache_dir": tmp_path / "conf" / "c"}
    write(tmp_path / "other" / "pyproject.toml", '[project]\nname = "x"\n')
    assert "has no [tool.lambdapack] table" in error_of(tmp_path, Path("other/pyproject.toml")).message
    assert error_of(tmp_path, Path("missing.toml")).message == "missing.toml: no such config file"
    assert error_of(tmp_path, Path("conf")).message == "conf: is a directory, not a config file"
    (tmp_path / "conf" / "latin1.toml").write_bytes(b'handler = "caf\xe9.main"\n')
    assert error_of(tmp_path, Path("conf/latin1.toml")).message == "conf/latin1.toml: not UTF-8 text (byte 14)"


def test_both_files_in_one_directory_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.lambdapack]\nruntime = "python3.12"\n')
    write(tmp_path / "lambdapack.toml", 'runtime = "python3.12"\n')
    err = error_of(tmp_path)
    assert err.message == ("pyproject.toml [tool.lambdapack] and lambdapack.toml both configure lambdapack: "
                           "keep one")
    # Without [tool.lambdapack] the pyproject.toml is no config: no conflict.
    write(tmp_path / "pyproject.toml", '[project]\nname = "lambdapack"\n')
    assert load_project(None, tmp_path).path == tmp_path / "lambdapack.toml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[tool.lambdapack.functions.api]\nsrc = "a"\nhandlr = "app.handler"\n',
         "pyproject.toml: [tool.lambdapack.functions.api] unknown key 'handlr' (did you mean 'handler'?)"),
        ('[tool.lambdapack]\nruntim = "python3.12"\n',
         "pyproject.toml: [tool.lambdapack] unknown key 'runtim' (did you mean 'runtime'?)"),
        ('[tool.lambdapack]\ncache-dir = "c"\n',
         "pyproject.toml: [tool.lambdapack] unknown key 'cache-dir' (did you mean 'cache_dir'?)"),
        ('[tool.lambdapack.install]\nindex-url = "https://x"\n',
         "pyproject.toml: [tool.lambdapack.install] unknown key 'index-url' (did you mean 'index_url'?)"),
        ('[tool.lambdapack.layers.deps]\nrequirements = "r.txt"\nruntime = "python3.12"\n',
         "pyproject.toml: [tool.lambdapack.layers.deps] unknown key 'runtime' (did you mean 'runtimes'?)"),
        ('[tool.lambdapack]\nslim = true\n',
         "pyproject.toml: [tool.lambdapack] 'slim': expected one of none, safe, aggressive, got a boolean (true)"),
        ('[tool.lambdapack]\nextras = "web"\n',
         "pyproject.toml: [tool.lambdapack] 'extras': expected a list of strings, got a string ('web')"),
        ('[tool.lambdapack]\ncompresslevel = 12\n',
         "pyproject.toml: [tool.lambdapack] 'compresslevel': expected a deflate level from 0 to 9, got a number (12)"),
        ('[tool.lambdapack.functions.api]\nsrc = 3\n',
         "pyproject.toml: [tool.lambdapack.functions.api] 'src': expected a string, got a number (3)"),
        ('[tool.lambdapack]\nfunctions = ["api"]\n',
         "pyproject.toml: [tool.lambdapack] 'functions': expected a table, got an array"),
        ('[tool.lambdapack.functions.api]\nsrc = "a"\nlayers = "deps"\n',
         "pyproject.toml: [tool.lambdapack.functions.api] 'layers': expected a list of strings, got a string ('deps')"),
        ('[tool.lambdapack.functions.api]\nhandler = "app.handler"\n',
         "pyproject.toml: [tool.lambdapack.functions.api] has no 'src' (the directory of the function's code, "
         "relative to the file)"),
        ('[tool.lambdapack.functions.api]\nsrc = "a"\nlayers = ["deps"]\n',
         "pyproject.toml: [tool.lambdapack.functions.api] 'layers': no layer 'deps' is defined (defined: none)"),
        ('[tool.lambdapack]\nruntime = "python3.99"\n',
         "pyproject.toml: [tool.lambdapack] 'runtime': python3.99 is not supported (supported: "),
        ('[tool.lambdapack.functions.api]\nsrc = "a"\narch = "i386"\n',
         "pyproject.toml: [tool.lambdapack.functions.api] 'arch': unknown architecture 'i386'; valid: x86_64, "
         "arm64 (aarch64)"),
        ('[tool.lambdapack.layers.deps]\nrequirements = "r.txt"\nruntimes = ["python2.7"]\n',
         "pyproject.toml: [tool.lambdapack.layers.deps] 'runtimes': python2.7 is not supported (supported: "),
        ('[tool.lambdapack]\nrequirements = "r.txt"\nlock = "uv.lock"\n',
         "pyproject.toml: [tool.lambdapack] names 'requirements' and 'lock': give only one of 'requirements', "
         "'pyproject', 'lock'"),
        ('[tool.lambdapack.layers.deps]\nruntimes = ["python3.12"]\n',
         "pyproject.toml: [tool.lambdapack.layers.deps] names no dependencies (give one of 'requirements', "
         "'pyproject', 'lock')"),
        ('[tool.lambdapack.functions."my api"]\nsrc = "a"\n',
         "pyproject.toml: [tool.lambdapack.functions.\"my api\"] is not a usable name"),
        ('[tool]\nlambdapack = "python3.12"\n',
         "pyproject.toml: tool.lambdapack must be a table ([tool.lambdapack]), not a value"),
        ('[tool.lambdapack\n',
         "pyproject.toml: not valid TOML: "),
    ],
)
def test_each_mistake_is_one_line_naming_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "pyproject.toml", text)
    assert error_of(tmp_path).message.startswith(message)


def test_the_top_level_of_lambdapack_toml_is_named_so(tmp_path: Path) -> None:
    write(tmp_path / "lambdapack.toml", 'runtme = "python3.12"\n')
    assert error_of(tmp_path).message == "lambdapack.toml: top level unknown key 'runtme' (did you mean 'runtime'?)"
    write(tmp_path / "lambdapack.toml", '[functions.api]\nsrc = "a"\nslim = "fast"\n')
    assert error_of(tmp_path).message.startswith("lambdapack.toml: [functions.api] 'slim': expected one of ")


def test_a_layer_must_fit_the_runtime_and_arch_of_each_function_using_it(tmp_path: Path) -> None:
    base = """\
        [tool.lambdapack]
        runtime = "python3.12"
        arch = "x86_64"
        [tool.lambdapack.layers.deps]
        requirements = "r.txt"
        runtimes = ["python3.11", "python3.12"]
        architectures = ["x86_64"]
        [tool.lambdapack.functions.api]
        src = "a"
        layers = ["deps"]
    """
    write(tmp_path / "pyproject.toml", base)
    assert load_project(None, tmp_path).functions["api"].layers == ("deps",)  # fits: no error
    write(tmp_path / "pyproject.toml", base + 'runtime = "python3.13"\n')
    assert error_of(tmp_path).message == ("pyproject.toml: [tool.lambdapack.functions.api] 'layers': layer 'deps' "
                                          "is for python3.11, python3.12, not this function's runtime python3.13")
    write(tmp_path / "pyproject.toml", base + 'arch = "arm64"\n')
    assert error_of(tmp_path).message == ("pyproject.toml: [tool.lambdapack.functions.api] 'layers': layer 'deps' "
                                          "is for x86_64, not this function's architecture arm64")


def test_two_artifacts_with_one_output_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", """\
        [tool.lambdapack.functions.a]
        src = "a"
        output = "dist/fn.zip"
        [tool.lambdapack.functions.b]
        src = "b"
        output = "./dist/../dist/fn.zip"
    """)
    out = tmp_path / "dist/../dist/fn.zip"
    assert error_of(tmp_path).message == (f"pyproject.toml: [tool.lambdapack.functions.b] 'output' {out} is also the "
                                          "output of function 'a'")
    # The default outputs differ by name, also between a function and a layer of one name.
    write(tmp_path / "pyproject.toml", """\
        [tool.lambdapack.functions.a]
        src = "a"
        [tool.lambdapack.functions.b]
        src = "b"
        [tool.lambdapack.layers.a]
        requirements = "r.txt"
    """)
    project = load_project(None, tmp_path)
    assert [f.output.name for f in project.functions.values()] == ["a.zip", "b.zip"]
    assert project.layers["a"].output == tmp_path / "dist" / "layer-a.zip"


def test_find_links_directories_are_relative_to_the_file_and_urls_stay(tmp_path: Path) -> None:
    write(tmp_path / "lambdapack.toml", 'install.find_links = ["wheels", "https://example.org/links/"]\n')
    assert load_project(None, tmp_path / ".").defaults["install.find_links"] == (
        str(tmp_path / "wheels"), "https://example.org/links/")
