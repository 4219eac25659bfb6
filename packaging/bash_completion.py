#!/usr/bin/env python3
"""Writes tessera's bash completion from the command's own help texts (run by the build).

Usage: bash_completion.py TESSERA OUTPUT

The subcommands, their options, which options take a value, an option's choices and the image
extensions all come from `tessera --help` and `tessera COMMAND --help`, so the completion
follows the CLI. What --help does not say is which arguments are files and of what kind: that is
FILE_ARGUMENTS below, and an entry that no longer names an argument of --help fails the build.
"""

import os
import re
import subprocess
import sys

# The file arguments: (command, option or positional name) -> which files to offer.
#   "images": the image extensions listed in `tessera build --help`
#   "named":  the extensions the argument's own help names (.png, .csv, lib.tsr...)
#   a list:   these extensions
FILE_ARGUMENTS = {
    ("build", "inputs"): "images",
    ("build", "--output"): "named",
    ("mosaic", "library"): ["tsr"],
    ("mosaic", "targets"): "images",
    ("mosaic", "--output"): "named",
    ("mosaic", "--matches"): "named",
    ("info", "library"): ["tsr"],
}


def help_text(tessera, *command):
    return subprocess.run([tessera, *command, "--help"], check=True, capture_output=True,
                          text=True).stdout


def sections(text):
    """The entries of each 'Name:' section of CLI11's help: {section: [(first column, help)]}.
    An entry is a line indented two spaces; a longer-indented line continues its help."""
    found, current = {}, None
    for line in text.splitlines():
        if re.fullmatch(r"[A-Z][A-Za-z]*:", line):
            current = found.setdefault(line[:-1], [])
        elif current is not None and line.startswith("  ") and line.strip():
            if line.startswith("   ") and current:
                name, description = current[-1]
                current[-1] = (name, (description + " " + line.strip()).strip())
            else:
                name, _, description = line.strip().partition("  ")
                current.append((name, description.strip()))
        elif not line.strip():
            current = None
    return found


class Option:
    def __init__(self, entry):
        first, self.description = entry
        names, _, self.type = first.partition(" ")
        self.names = names.split(",")
        self.takes_value = bool(self.type)
        choices = re.search(r"\{([^}]*)\}", self.type)
        self.choices = choices[1].split(",") if choices else []


def extensions_named(description):
    return list(dict.fromkeys(re.findall(r"\.([a-z]{3,4})\b", description)))


def quote(words):
    return "'" + " ".join(words) + "'"


def command_case(tessera, command, images):
    text = help_text(tessera, command)
    found = sections(text)
    options = [Option(entry) for entry in found.get("Options", [])]
    positionals = [(entry[0].split()[0], entry[0], entry[1])
                   for entry in found.get("Positionals", [])]

    def files_for(name, description):
        kind = FILE_ARGUMENTS[(command, name)]
        if kind == "images":
            extensions = images
        elif kind == "named":
            extensions = extensions_named(description)
        else:
            extensions = kind
        if not extensions:
            sys.exit(f"bash_completion.py: no extensions for tessera {command} {name}")
        return "_filedir '" + "|".join(extensions) + "'"

    known = {name for option in options for name in option.names} | {p[0] for p in positionals}
    for cmd, name in FILE_ARGUMENTS:
        if cmd == command and name not in known:
            sys.exit(f"bash_completion.py: tessera {command} --help has no argument {name}")

    lines = [f"    {command})", "        case $prev in"]
    typed = []  # options whose value is typed, not chosen: nothing is offered
    for option in options:
        long_name = option.names[-1]
        if (command, long_name) in FILE_ARGUMENTS:
            action = files_for(long_name, option.description)
        elif option.choices:
            action = f"COMPREPLY=($(compgen -W {quote(option.choices)} -- \"$cur\"))"
        else:
            typed += option.names if option.takes_value else []
            continue
        lines.append(f"            {'|'.join(option.names)}) {action}; return ;;")
    if typed:
        lines.append(f"            {'|'.join(typed)}) return ;;")
    lines += ["        esac", "        $split && return",
              "        if [[ $cur == -* ]]; then",
              f"            COMPREPLY=($(compgen -W {quote(n for o in options for n in o.names)} "
              "-- \"$cur\"))",
              "            return",
              "        fi",
              "        # Which positional argument this is: the words after the command that are",
              "        # neither options nor their values.",
              "        local takes_value="
              f"{quote(n for o in options if o.takes_value for n in o.names)} position=0 j",
              "        for ((j = command_at + 1; j < cword; j++)); do",
              "            if [[ ${words[j]} == -* ]]; then",
              "                [[ ${words[j]} != *=* &&",
              "                   \" $takes_value \" == *\" ${words[j]} \"* ]] && ((j++))",
              "            else",
              "                ((position++))",
              "            fi",
              "        done",
              "        case $position in"]
    for index, (name, first, description) in enumerate(positionals):
        repeats = "..." in first.split()
        pattern = f"{index}" if not repeats else "*"
        lines.append(f"            {pattern}) {files_for(name, description)} ;;")
    lines += ["        esac", "        ;;"]
    return lines


def main():
    tessera, output = sys.argv[1], sys.argv[2]
    top = sections(help_text(tessera))
    commands = [entry[0] for entry in top["Subcommands"]]
    top_options = [name for entry in top["Options"] for name in Option(entry).names]
    build_help = help_text(tessera, "build")
    image_list = re.search(r"these extensions[^\n]*\n\s*(\.[^\n]*)", build_help)
    if not image_list:
        sys.exit("bash_completion.py: no list of image extensions in tessera build --help")
    images = [ext.lstrip(".") for ext in image_list[1].split()]

    lines = [
        "# bash completion for tessera -*- shell-script -*-",
        "# Generated from tessera's --help by packaging/bash_completion.py; do not edit.",
        "",
        "_tessera()",
        "{",
        "    local cur prev words cword split",
        "    _init_completion -s || return",
        "",
        "    # The command is the first word that is not an option.",
        "    local command= command_at=0 i",
        "    for ((i = 1; i < cword; i++)); do",
        "        if [[ ${words[i]} != -* ]]; then",
        "            command=${words[i]} command_at=$i",
        "            break",
        "        fi",
        "    done",
        "",
        "    case $command in",
        "    '')",
        "        if [[ $cur == -* ]]; then",
        f"            COMPREPLY=($(compgen -W {quote(top_options)} -- \"$cur\"))",
        "        else",
        f"            COMPREPLY=($(compgen -W {quote(commands)} -- \"$cur\"))",
        "        fi",
        "        ;;",
    ]
    for command in commands:
        lines += command_case(tessera, command, images)
    lines += ["    esac", "} &&", "    complete -F _tessera tessera", ""]
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
