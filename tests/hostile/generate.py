#!/usr/bin/env python3
"""Writes the hostile corpus next to this script: repository files that once aborted, froze or
starved the server, and variants of them. `cargo xtask hostile` serves every file, natively and
from git, and checks that each is answered with a clear error while everything else is served.

Run it again after changing it; the files are committed so that a reader can look at them."""

from pathlib import Path

HERE = Path(__file__).resolve().parent


def write(name: str, text: str) -> None:
    (HERE / name).write_text(text, encoding="utf-8")


def nested_defaults(levels: int) -> str:
    return "${x:" * levels + "end" + "}" * levels


def exponential(levels: int, leaf: str, sep: str) -> str:
    lines = [f"p{i}{sep}${{p{i + 1}}}${{p{i + 1}}}" for i in range(levels)]
    lines.append(f"p{levels}{sep}{leaf}")
    return "\n".join(lines) + "\n"


# 1. Deep YAML: block sequences on one line, block mappings indented one more space a line, flow.
write("deep-sequence.yml", "x:\n" + "- " * 5000 + "end\n")
write("deep-mapping.yml", "".join(" " * i + "k:\n" for i in range(2000)) + " " * 2000 + "v\n")
write("deep-flow.yml", "x: " + "[" * 100_000 + "1" + "]" * 100_000 + "\n")
write("deep-flow-mapping.yml", "x: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n")
# Anchors that hold each other: each nests 100 levels, so depth grows through the aliases.
chain = []
for i in range(40):
    inner = f"*a{i - 1}" if i else "1"
    chain.append(f"a{i}: &a{i} " + "[" * 100 + inner + "]" * 100)
write("alias-depth.yml", "\n".join(chain) + "\n")
# Billion laughs: nine levels of ten aliases each.
laughs = ['l0: &l0 "lol"']
for i in range(1, 10):
    laughs.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
write("alias-bomb.yml", "\n".join(laughs) + "\n")
# A profile expression nested 100,000 levels, in the second document.
write("profile-expression.yml", "a: 1\n---\nspring.config.activate.on-profile: \"" + "!" * 100_000 + "dev\"\nb: 2\n")
write("profile-parens.yml", "a: 1\n---\nspring.config.activate.on-profile: \"" + "(" * 50_000 + "dev" + ")" * 50_000 + "\"\n")

# 2. Nested placeholder defaults, 5,000 deep, in YAML, properties and a plain-text resource.
write("nested-defaults.yml", "v: \"" + nested_defaults(5000) + "\"\n")
write("nested-defaults-props.properties", "v=" + nested_defaults(5000) + "\n")
write("nested-defaults.txt", "value: " + nested_defaults(5000) + "\n")
write("nested-keys.yml", "v: \"" + "${" * 5000 + "x" + "}" * 5000 + "\"\n")

# 3. Exponential expansion: 519 bytes that double at each of 30 levels; with an empty leaf, all
#    the work and none of the output.
write("exponential.yml", exponential(30, "x", ": "))
write("exponential-empty.properties", exponential(30, "", "="))
write("exponential.txt", "${p0}\n")

# Flat keys: one key of 50,000 segments, and list indexes far too large.
write("deep-key.properties", ".".join(["a"] * 50_000) + "=x\n")
write("big-index.properties", "a[99999999999999999999]=x\nb[100001]=y\nc[5]=z\n")
# Escapes: 100,000 unicode escapes, and 20,000 line continuations.
write("escapes.properties", "u=" + "\\u0041" * 100_000 + "\nc=" + "x\\\n" * 20_000 + "end\n")
# Not UTF-8.
(HERE / "not-utf8.yml").write_bytes(b"a: \xff\xfe\xfd\n")
