#!/usr/bin/env python3
"""Write the README's Python and Go code blocks out as runnable programs.

Usage: readme_examples.py README.md PY_DIR GO_DIR

- Python block N goes to PY_DIR/block-N.py. A block with its own imports is a
  complete program and is written as it is (it must call app.synth()). Any other
  block is a fragment using `self`: it is indented into the constructor of
  `class Example(cdk.Stack)`, after the imports the TypeScript wrapper of
  test/readme.test.ts gives (aws_cdk core names, cloudwatch, ec2, iam, logs, s3,
  sns) and `from cdk_casper_node import *`, and a main synthesizes that stack.
- Go block N goes to GO_DIR/blockN/main.go (a package of its own inside the
  module that contains GO_DIR), with `package main` prepended when it lacks a
  package clause.

Prints one tab-separated line per block: lang, N, file, README line, heading.
The fence and heading rules match extractBlocks() in test/readme.test.ts.
"""
import os
import re
import sys
import textwrap

LANGS = {"python": "python", "py": "python", "go": "go", "golang": "go",
         "ts": "ts", "typescript": "ts"}
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")

PY_PRELUDE = """\
import aws_cdk as cdk
from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct
from cdk_casper_node import *  # noqa: F401,F403


class Example(cdk.Stack):
    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
"""
PY_MAIN = """

app = cdk.App()
Example(app, "Example")
app.synth()
"""


def extract_blocks(markdown):
    """(lang, index, line, heading, code) for each fenced block in a known language."""
    lines = markdown.split("\n")
    blocks, counts = [], {}
    heading = "(top)"
    i = 0
    while i < len(lines):
        head = HEADING.match(lines[i])
        if head:
            heading = head.group(2)
            i += 1
            continue
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.groups()
        close = re.compile(r"^\s*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}\s*$")
        body = []
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        lang = LANGS.get(info.lower())
        if lang:
            counts[lang] = counts.get(lang, 0) + 1
            blocks.append((lang, counts[lang], i + 2, heading, "\n".join(body)))
        i = j + 1
    return blocks


def python_program(code):
    if re.search(r"^\s*(import|from)\s", code, re.M):
        return code.rstrip() + "\n"
    return PY_PRELUDE + textwrap.indent(code.rstrip(), " " * 8) + PY_MAIN


def go_program(code):
    if re.search(r"^package\s", code, re.M):
        return code.rstrip() + "\n"
    return "package main\n\n" + code.rstrip() + "\n"


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    readme, py_dir, go_dir = argv[1:]
    with open(readme, encoding="utf-8") as f:
        blocks = extract_blocks(f.read())
    os.makedirs(py_dir, exist_ok=True)
    for lang, n, line, heading, code in blocks:
        if lang == "python":
            path = os.path.join(py_dir, f"block-{n}.py")
            text = python_program(code)
        elif lang == "go":
            path = os.path.join(go_dir, f"block{n}", "main.go")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            text = go_program(code)
        else:
            continue
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        heading = heading.replace("\t", " ")
        print(f"{lang}\t{n}\t{path}\t{line}\t{heading}")


if __name__ == "__main__":
    main(sys.argv)
