#!/usr/bin/env python3
"""Renders chat templates with Python's jinja2 exactly as transformers'
apply_chat_template does (transformers/utils/chat_template_utils.py: a sandboxed
environment with trim_blocks and lstrip_blocks, the loopcontrols extension, a
tojson filter that keeps non-ASCII, the {% generation %} tag, and the raise_exception and strftime_now
helpers; messages, tools=None, documents=None, add_generation_prompt and the
special tokens as variables). The reference tplm's chat templates are tested
against (tests/app/serve/chat_template_test.cpp).

Usage: render_chat_template.py CASES.json
CASES.json: a list of {"template": PATH, "messages": [{"role", "content"}...],
"add_generation_prompt": BOOL, "bos_token": STR, "eos_token": STR, "time": UNIX
SECONDS (strftime_now's clock)}. Prints a JSON list with, for each case,
{"text": RENDERED} or {"error": MESSAGE} (the template raised, or failed).
Needs jinja2 (tools/requirements.txt).
"""
import json
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class AssistantTracker(Extension):
    """transformers' {% generation %} ... {% endgeneration %} block, which marks
    the assistant's tokens for training masks; when rendering, its body as is."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(
            lineno)

    def _generation_support(self, caller):
        return caller()


def environment(now: datetime) -> ImmutableSandboxedEnvironment:
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(format):
        return now.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(case: dict) -> dict:
    with open(case["template"], encoding="utf-8") as f:
        source = f.read()
    env = environment(datetime.fromtimestamp(case.get("time", 0)))
    try:
        text = env.from_string(source).render(
            messages=case["messages"], tools=None, documents=None,
            add_generation_prompt=case["add_generation_prompt"],
            bos_token=case.get("bos_token", ""), eos_token=case.get("eos_token", ""))
    except Exception as e:  # the template's raise_exception, or a failure in it
        return {"error": f"{type(e).__name__}: {e}"}
    return {"text": text}


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    json.dump([render(c) for c in cases], sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
