"""Installing tessera: `cmake --install` of the tested build into a temporary DESTDIR (prefix
/usr, as the Debian package lays it out), the installed command, Python module, manual pages and
bash completion, a CMake project and a pkg-config build against the installed libraries, and the
.debs of scripts/package.sh. Nothing is installed on the system.

The build is the one whose tessera the other tests run (TESSERA_BIN's directory); under the
sanitizer job (a build without the Python module) these tests do not run."""

import os
import pathlib
import re
import subprocess
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "data"

pytestmark = pytest.mark.skipif("TESSERA_SANITIZED" in os.environ,
                                reason="the sanitized build is not the one installed")

VERSION = re.search(r"project\(tessera VERSION ([0-9.]+)",
                    (ROOT / "CMakeLists.txt").read_text())[1]
COMMANDS = ["build", "mosaic", "info"]


def run(*args, **kwargs):
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600,
                          **kwargs)
    assert proc.returncode == 0, f"{args[0]} exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def build_dir(tessera_bin):
    build = os.path.dirname(os.path.abspath(tessera_bin))
    if not os.path.exists(os.path.join(build, "CPackConfig.cmake")):
        pytest.fail(f"{build} is not a configured tessera build (no CPackConfig.cmake)")
    return build


@pytest.fixture(scope="module")
def usr(build_dir, tmp_path_factory):
    """The install's /usr, under a temporary DESTDIR."""
    destdir = tmp_path_factory.mktemp("destdir")
    run("cmake", "--install", build_dir, "--prefix", "/usr",
        env={**os.environ, "DESTDIR": str(destdir)})
    return destdir / "usr"


def installed_files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def test_install_puts_every_part_in_its_place(usr):
    files = installed_files(usr)
    python = "lib/python3/dist-packages/tessera"
    for expected in ["bin/tessera", "lib/libtessera_core.a", "lib/libtessera_io.a",
                     "lib/cmake/tessera/tesseraConfig.cmake",
                     "lib/cmake/tessera/tesseraConfigVersion.cmake",
                     "lib/cmake/tessera/tessera-targets.cmake", "lib/pkgconfig/tessera.pc",
                     "include/tessera/core/image.hpp", "include/tessera/io/decode.hpp",
                     "include/tessera/search/search.hpp",
                     "share/man/man1/tessera.1.gz", "share/man/man1/tessera-build.1.gz",
                     "share/man/man1/tessera-mosaic.1.gz", "share/man/man1/tessera-info.1.gz",
                     "share/bash-completion/completions/tessera",
                     "share/doc/tessera/README.md", "share/doc/tessera/CHANGELOG.md",
                     f"{python}/__init__.py", f"{python}/py.typed"]:
        assert expected in files
    assert any(re.fullmatch(rf"{python}/_tessera\.cpython-.*\.so", f) for f in files)
    # Every public header of the installed layers, none of the pipeline (not a library).
    headers = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "include").rglob("*.hpp")
                     if "pipeline" not in p.parts)
    assert sorted(f for f in files if f.startswith("include/")) == headers
    # Nothing of the build tree's absolute paths is needed: the binary has no RUNPATH into it.
    assert "RUNPATH" not in run("readelf", "-d", usr / "bin/tessera")


def test_installed_tessera_makes_the_build_trees_mosaic(usr, tessera_bin, tmp_path):
    installed = usr / "bin/tessera"
    assert run(installed, "--version").startswith(f"tessera {VERSION} (simd: ")
    outputs = {}
    for name, binary in [("installed", installed), ("build", tessera_bin)]:
        out = tmp_path / name
        out.mkdir()
        run(binary, "build", "-q", "-o", out / "lib.tsr", "--tile", "8", "--mode", "gray",
            DATA / "brick.png", DATA / "grass.png")
        run(binary, "mosaic", "-q", out / "lib.tsr", DATA / "coins.png", "-o", out / "m.png",
            "--matches", out / "m.csv")
        outputs[name] = [(out / f).read_bytes() for f in ("m.png", "m.csv")]
    assert outputs["installed"] == outputs["build"]


def installed_python(usr, code, cwd):
    # Debian's python3, reading the install's dist-packages and not the build tree's module.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(usr / "lib/python3/dist-packages")
    return run("/usr/bin/python3", "-c", code, env=env, cwd=cwd)


def test_installed_python_module(usr, tessera_bin, tmp_path):
    out = installed_python(usr, textwrap.dedent(f"""
        import tessera
        print(tessera.__file__)
        print(tessera.__version__)
        lib = tessera.Library.build([{str(DATA / 'brick.png')!r}], tile=8, mode="gray")
        print(len(lib))
        """), cwd=tmp_path).split()
    assert out[0] == str(usr / "lib/python3/dist-packages/tessera/__init__.py")
    assert out[1] == VERSION
    # The same library as the command's.
    run(tessera_bin, "build", "-q", "-o", tmp_path / "lib.tsr", "--tile", "8", "--mode", "gray",
        DATA / "brick.png")
    assert f"patches     {out[2]}\n" in run(tessera_bin, "info", tmp_path / "lib.tsr")


def test_one_version_everywhere(usr, tessera_bin):
    assert run(tessera_bin, "--version").split()[1] == VERSION
    assert run("/usr/bin/python3", "setup.py", "--version", cwd=ROOT).split()[-1] == VERSION
    version_file = (usr / "lib/cmake/tessera/tesseraConfigVersion.cmake").read_text()
    assert f'set(PACKAGE_VERSION "{VERSION}")' in version_file
    assert run("pkg-config", "--modversion", usr / "lib/pkgconfig/tessera.pc").strip() == VERSION
    # tessera.__version__: test_installed_python_module; the packages: test_debian_packages.


@pytest.fixture(scope="module")
def consumer(usr, tmp_path_factory):
    """examples/cmake_consumer built against the install."""
    build = tmp_path_factory.mktemp("consumer")
    run("cmake", "-S", ROOT / "examples/cmake_consumer", "-B", build, "-DCMAKE_BUILD_TYPE=Release",
        f"-DCMAKE_PREFIX_PATH={usr}")
    run("cmake", "--build", build)
    return build / "self_search"


def test_cmake_consumer_builds_and_runs(consumer, usr, tmp_path):
    out = run(consumer, DATA / "coins.png", tmp_path / "coins.tsr")
    counts = dict(line.rsplit(" ", 1) for line in out.splitlines())
    assert counts["tiles"] == counts["at distance 0"] != "0"
    # The installed command reads the library the consumer saved, and builds the same one.
    run(usr / "bin/tessera", "build", "-q", "-o", tmp_path / "cli.tsr", "--tile", "8",
        "--mode", "gray", DATA / "coins.png")
    info = [run(usr / "bin/tessera", "info", tmp_path / name).splitlines()[1:]
            for name in ("coins.tsr", "cli.tsr")]
    assert f"patches     {counts['patches']}" in info[0]
    assert [line for line in info[0] if not line.startswith("bytes")] == \
        [line for line in info[1] if not line.startswith("bytes")]


def test_consumer_asks_for_a_compatible_version(usr, tmp_path):
    # tesseraConfigVersion.cmake refuses a version the install is not.
    project = tmp_path / "project"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.25)\nproject(p LANGUAGES CXX)\n"
        "find_package(tessera 99.0 CONFIG REQUIRED)\n")
    proc = subprocess.run(["cmake", "-S", project, "-B", tmp_path / "b",
                           f"-DCMAKE_PREFIX_PATH={usr}"], capture_output=True, text=True)
    assert proc.returncode != 0 and f"version: {VERSION}" in proc.stderr


def test_pkg_config_builds_the_consumer(usr, tmp_path):
    env = {**os.environ, "PKG_CONFIG_PATH": str(usr / "lib/pkgconfig")}
    flags = run("pkg-config", "--cflags", "--libs", "tessera", env=env).split()
    run("g++", "-std=c++20", "-O1", ROOT / "examples/cmake_consumer/self_search.cpp", "-o",
        tmp_path / "self_search", *flags)
    out = run(tmp_path / "self_search", DATA / "brick.png", tmp_path / "brick.tsr")
    counts = dict(line.rsplit(" ", 1) for line in out.splitlines())
    assert counts["tiles"] == counts["at distance 0"] != "0"


def help_lines(binary, command):
    """The lines of --help a manual page must show, whitespace-normalized: all but the section
    titles ("Options:"), which help2man turns into its own headings, and 'Usage: ' itself."""
    text = run(binary, *([command] if command else []), "--help")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return [re.sub(r"^Usage: ", "", line) for line in lines
            if line and not re.fullmatch(r"[A-Z][a-z]*:", line)]


@pytest.mark.parametrize("command", [""] + COMMANDS)
def test_manual_page_agrees_with_help(usr, command):
    page = usr / "share/man/man1" / ("tessera" + (f"-{command}" if command else "") + ".1.gz")
    # As man shows it, on one very long line so nothing is wrapped or hyphenated.
    env = {**os.environ, "MANWIDTH": "4000", "LC_ALL": "C"}
    shown = " ".join(run("man", "-l", page, env=env).split())
    for line in help_lines(usr / "bin/tessera", command):
        assert line in shown, f"{page.name} lacks: {line}"
    name = "tessera" + (f"-{command}" if command else "")
    assert re.search(rf"^{name.upper()}\(1\) .* tessera {re.escape(VERSION)} ", shown)
    if command:
        assert f"tessera-{command} - " in shown  # the NAME line whatis and apropos read


COMPLETE = r"""
source /usr/share/bash-completion/bash_completion
# Loaded as bash-completion loads it when tessera is first completed: from
# $XDG_DATA_DIRS/bash-completion/completions (/usr/share, /usr/local/share by default).
__load_completion tessera || exit 3
complete -p tessera
cd "$1"
shift
for line in "$@"; do
    COMP_LINE=$line COMP_POINT=${#line}
    COMP_WORDS=()
    read -ra COMP_WORDS <<< "$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _tessera tessera "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    echo "${line}|$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')"
done
"""


def completions(usr, directory, lines):
    env = {**os.environ, "XDG_DATA_DIRS": str(usr / "share"),
           "BASH_COMPLETION_USER_DIR": str(directory / "none")}
    out = run("bash", "--norc", "--noprofile", "-c", COMPLETE, "bash", directory, *lines, env=env)
    first, *rest = out.splitlines()
    assert first == "complete -F _tessera tessera"
    return {line: set(words.split()) for line, words in (r.split("|") for r in rest)}


def help_option_names(binary, command):
    text = run(binary, command, "--help")
    options = text.split("Options:\n")[1]
    return {name for line in options.splitlines() if line.startswith("  -")
            for name in re.findall(r"(?<![\w-])--?[a-z][a-z-]*", line.split("  ")[1])}


def test_bash_completion(usr, tmp_path):
    for name in ["a.png", "b.JPG", "lib.tsr", "notes.txt", "m.csv"]:
        (tmp_path / name).touch()
    (tmp_path / "sub").mkdir()
    got = completions(usr, tmp_path, [
        "tessera ", "tessera --", "tessera b", "tessera build --", "tessera mosaic --",
        "tessera info --", "tessera build ", "tessera build a.png ", "tessera build -o ",
        "tessera build --mode ", "tessera build --tile ", "tessera mosaic ",
        "tessera mosaic lib.tsr ", "tessera mosaic -o out.png lib.tsr ",
        "tessera mosaic --quality 80 lib.tsr a.png ", "tessera mosaic --matches ",
        "tessera mosaic --output=", "tessera info "])
    images, libraries = {"a.png", "b.JPG", "sub"}, {"lib.tsr", "sub"}
    assert got["tessera "] == set(COMMANDS)
    assert got["tessera --"] == {"--help", "--version"}
    assert got["tessera b"] == {"build"}
    for command in COMMANDS:
        assert got[f"tessera {command} --"] == \
            {n for n in help_option_names(usr / "bin/tessera", command) if n.startswith("--")}
    assert got["tessera build "] == images
    assert got["tessera build a.png "] == images
    assert got["tessera build -o "] == libraries
    assert got["tessera build --mode "] == {"gray", "rgb"}
    assert got["tessera build --tile "] == set()
    assert got["tessera mosaic "] == libraries
    assert got["tessera mosaic lib.tsr "] == images
    assert got["tessera mosaic -o out.png lib.tsr "] == images
    # mosaic takes several targets (--out-dir): after one, more images are offered
    assert got["tessera mosaic --quality 80 lib.tsr a.png "] == images
    assert got["tessera mosaic --matches "] == {"m.csv", "sub"}
    assert got["tessera mosaic --output="] == images
    assert got["tessera info "] == libraries


@pytest.fixture(scope="module")
def debs(build_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("debs")
    run(ROOT / "scripts/package.sh", build_dir, out)
    arch = run("dpkg", "--print-architecture").strip()
    return {name: out / f"{name}_{VERSION}_{arch}.deb" for name in ("tessera", "tessera-dev")}


def deb_fields(deb):
    text = run("dpkg-deb", "-f", deb)
    return dict(re.findall(r"^([\w-]+): (.*)$", text, re.M))


def deb_files(deb):
    return {line.split()[-1].removeprefix("./") for line in run("dpkg-deb", "-c", deb).splitlines()
            if not line.startswith("d")}


def package_of(path):
    """The Debian package that installed a file, under either of its merged-/usr names."""
    for name in {path, os.path.realpath(path)}:
        for candidate in (name, name.removeprefix("/usr"), "/usr" + name):
            proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if proc.returncode == 0:
                return proc.stdout.split(":")[0]
    raise AssertionError(f"no package has {path}")


def test_debian_packages(debs, usr, tessera_bin):
    tessera, dev = deb_fields(debs["tessera"]), deb_fields(debs["tessera-dev"])
    assert tessera["Package"] == "tessera" and dev["Package"] == "tessera-dev"
    assert tessera["Version"] == dev["Version"] == VERSION
    # The two packages hold what `cmake --install` installs, each file once.
    files = deb_files(debs["tessera"]), deb_files(debs["tessera-dev"])
    assert not files[0] & files[1]
    assert files[0] | files[1] == {f"usr/{f}" for f in installed_files(usr)}
    assert "usr/bin/tessera" in files[0] and "usr/lib/libtessera_core.a" in files[1]
    assert "usr/lib/python3/dist-packages/tessera/__init__.py" in files[0]
    # Byte-code made on install and removed before removal, as dh_python3 does for Debian's.
    assert "py3compile -p tessera" in run("dpkg-deb", "-I", debs["tessera"], "postinst")
    assert "py3clean -p tessera" in run("dpkg-deb", "-I", debs["tessera"], "prerm")

    # Computed runtime dependencies: the package of every shared library the command and the
    # Python module link (dpkg -S), besides python3 and numpy.
    depends = {d.split()[0] for d in tessera["Depends"].split(", ")}
    assert {"python3", "python3-numpy"} <= depends
    module = next((usr / "lib/python3/dist-packages/tessera").glob("_tessera*.so"))
    for binary in (usr / "bin/tessera", module):
        needed = re.findall(r"NEEDED\s+(\S+)", run("objdump", "-p", binary))
        # "libvips.so.42 => /lib/.../libvips.so.42 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        found = {}
        for line in run("ldd", binary).splitlines():
            words = line.split()
            path = words[2] if len(words) > 2 and words[1] == "=>" else words[0]
            found[words[0] if "=>" in words else os.path.basename(path)] = path
        for library in needed:
            owner = package_of(found[library])
            assert owner in depends, f"{binary.name} links {library} of {owner}: not in Depends"
    assert {"libvips-dev", "liblemon-dev", "libxxhash-dev", "pkg-config"} <= \
        {d.split()[0] for d in dev["Depends"].split(", ")}
