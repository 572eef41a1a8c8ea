"""Run SpiffWorkflow's own test models four ways and write the table of docs/corpus.md (issue 16, item 7).

    python scripts/corpus_table.py                    # rewrite docs/corpus.md
    python scripts/corpus_table.py --check            # exit 1 when docs/corpus.md is not current
    python scripts/corpus_table.py --corpus DIR --output FILE

The corpus is ``../shared/corpus/spiffworkflow-tests/`` beside the repository (``--corpus`` to read another copy):
every ``*.bpmn`` and ``*.bpmn20.xml`` file under it is one model (106 today). Each model is run

* **Spiff**: on bare SpiffWorkflow, as its own tests run it: the model's file and the other files of its folder
  parsed (call activities, DMN), the first executable process not called by another started with SpiffWorkflow's
  default script engine (which runs the files' Python scripts: run this script only on a corpus you trust), user
  and manual tasks completed with empty data, engine steps and waiting timers driven until the workflow completes,
  within :data:`STEP_BUDGET` task completions and :data:`WALL_BUDGET` seconds;
* **approvalflow**: ``load_process`` with the script tasks bound to host functions (:mod:`corpus_scripts`: the
  corpus's scripts written again in Python; the refusal, if any, names file, line and element), ``start_case`` in a
  one-unit organisation whose people hold every post the model names, then every ready step completed with empty
  data as a permitted person (another person is tried when the rules refuse one), the case clock moved to the
  next timer (``Case.advance``) when the case waits only on timers, within the same budgets;
* **simulate**: ``compile_bpmn`` (load only, no simulation run);
* **validate**: ``validate_file``: the rule ids of its errors, and how many warnings;
* **render**: ``render_views``: how many diagrams, or the error.

A row where SpiffWorkflow completes and approvalflow does not is marked, with a short reason: the work list of
issue 16. Messages are cut to one line, paths are given relative to the corpus (the table links nowhere), and
anything that varies from run to run (memory addresses, task ids) is masked, so the table is the same on every run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import signal
import sys
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "spiffworkflow-tests"
OUTPUT = ROOT / "docs" / "corpus.md"
STEP_BUDGET = 200
"""Most tasks completed (or engine rounds run) per model and engine."""
WALL_BUDGET = 5.0
"""Most seconds per model and engine (timers of the corpus wait at most half a second)."""
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MAX_MESSAGE = 150


class Budget(Exception):
    """The wall-clock budget of one model ran out."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`Budget` inside the block after ``seconds`` (SIGALRM: main thread, POSIX)."""

    def ring(signum: int, frame: FrameType | None) -> None:
        raise Budget(f"wall-clock budget of {seconds:g} s")

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def models(corpus: Path) -> list[Path]:
    """Every model of the corpus, in the order of its path."""
    found = [p for p in corpus.rglob("*") if p.is_file() and p.name.endswith((".bpmn", ".bpmn20.xml"))]
    return sorted(found, key=lambda p: p.relative_to(corpus).as_posix())


# -- text -------------------------------------------------------------------------------------------------------
_VARYING = [
    (re.compile(r"0x[0-9a-fA-F]+"), "0x…"),
]


def one_line(text: str, corpus: Path) -> str:
    """A message as one table cell: corpus paths relative, varying parts masked, ``|`` escaped, cut."""
    for prefix in (str(corpus.resolve()) + "/", str(corpus) + "/"):
        text = text.replace(prefix, "")
    text = text.replace(str(ROOT) + "/", "")
    for pattern, mask in _VARYING:
        text = pattern.sub(mask, text)
    text = " ".join(text.split()).replace("|", "\\|").replace("`", "'")
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# -- bare SpiffWorkflow -----------------------------------------------------------------------------------------
def process_ids(path: Path) -> tuple[list[str], set[str], set[str]]:
    """The process ids a file defines (document order), those marked not executable, and those it calls."""
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except etree.XMLSyntaxError:
        return [], set(), set()
    procs = list(root.iter(f"{{{BPMN}}}process"))
    called = {el.get("calledElement", "") for el in root.iter(f"{{{BPMN}}}callActivity")} - {""}
    return (
        [p.get("id", "") for p in procs],
        {p.get("id", "") for p in procs if p.get("isExecutable") == "false"},
        called,
    )


def spiff_parser(model: Path) -> tuple[Any, str]:
    """SpiffWorkflow's parser with the model, the files of its folder that define the processes it calls
    (transitively; the first file in name order wins) and the folder's DMN files; the main process id."""
    from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

    parser = BpmnDmnParser()
    parser.add_bpmn_file(str(model))
    ids, not_executable, called = process_ids(model)
    folder = sorted(p for p in model.parent.iterdir() if p.is_file() and p != model)
    defines = {}
    for other in folder:
        if other.name.endswith((".bpmn", ".bpmn20.xml")):
            for pid in process_ids(other)[0]:
                defines.setdefault(pid, other)
        elif other.name.endswith(".dmn"):
            with contextlib.suppress(Exception):
                parser.add_dmn_file(str(other))
    known, todo, added = set(ids), set(called), set()
    while todo - known:
        pid = sorted(todo - known)[0]
        known.add(pid)
        source = defines.get(pid)
        if source is None or source in added:
            continue
        added.add(source)
        theirs, _, more = process_ids(source)
        parser.add_bpmn_file(str(source))
        known |= set(theirs)
        todo |= more
    roots = [p for p in ids if p not in called and p not in not_executable] or ids
    if not roots:
        raise ValueError("the file defines no process")
    return parser, roots[0]


def run_spiff(model: Path) -> tuple[bool, str]:
    """(completed, what happened) for one model on bare SpiffWorkflow."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    started = time.monotonic()
    try:
        with deadline(WALL_BUDGET):
            parser, main = spiff_parser(model)
            wf = BpmnWorkflow(parser.get_spec(main), parser.get_subprocess_specs(main))
            steps = 0
            while steps < STEP_BUDGET:
                wf.refresh_waiting_tasks()
                wf.do_engine_steps()
                if wf.is_completed():
                    return True, "completes"
                ready = wf.get_tasks(state=TaskState.READY, manual=True)
                if ready:
                    ready[0].run()
                    steps += 1
                    continue
                waiting = wf.get_tasks(state=TaskState.WAITING)
                if not waiting:
                    return False, "stops: no task ready or waiting, not completed"
                if not _timers(waiting) or time.monotonic() - started > WALL_BUDGET - 0.5:
                    return False, "waits: " + _waiting(waiting)
                time.sleep(0.02)
            return False, f"step budget of {STEP_BUDGET} spent"
    except Budget as exc:
        return False, str(exc)
    except Exception as exc:  # the corpus is run as it is: any failure is a result
        return False, "fails: " + error_text(exc)


def _event_kind(spec: Any) -> str:
    definition = getattr(spec, "event_definition", None)
    if definition is None:
        return type(spec).__name__
    return type(definition).__name__.removesuffix("EventDefinition").lower() or "event"


def _timers(waiting: list[Any]) -> bool:
    return any("timer" in _event_kind(t.task_spec).lower() for t in waiting)


def _waiting(waiting: list[Any]) -> str:
    kinds = sorted({f"{_event_kind(t.task_spec)} '{t.task_spec.bpmn_id}'" for t in waiting if t.task_spec.bpmn_id})
    return ", ".join(kinds) or "a task of the engine"


# -- approvalflow -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Result:
    completed: bool
    text: str


def run_approvalflow(model: Path) -> Result:
    """``load_process``, ``start_case``, every ready step completed by a permitted person."""
    from corpus_scripts import bindings

    from approvalflow import FakeClock, organisation_from_dict, start_case
    from approvalflow.bpmn.loader import load_process
    from approvalflow.errors import ApprovalflowError, DefinitionError, StepRefused

    try:
        definition = load_process(model, script_tasks=bindings(model))
    except DefinitionError as exc:
        return Result(False, "refused: " + exc.message + _where(exc))
    posts = sorted({p for step in definition.steps.values() for p in step.posts}) or ["clerk"]
    people = ["p1", "p2", "p3"]
    org = organisation_from_dict(
        {
            "units": [{"id": "u", "principal": "head"}],
            "people": {"head": {"unit": "u", "posts": ["principal"]}}
            | {p: {"unit": "u", "posts": posts} for p in people},
        }
    )
    started = time.monotonic()
    step = ""
    try:
        with deadline(WALL_BUDGET):
            case = start_case(definition, org, clock=FakeClock("2026-03-02T09:00:00+08:00"), case_id="corpus")
            for _ in range(STEP_BUDGET):
                if case.is_completed:
                    return Result(True, "completes")
                ready = case.ready_steps()
                if not ready:
                    timer = case.next_timer()
                    if timer is None:
                        return Result(False, "waits: " + _case_waiting(case))
                    case.advance(timer.due)  # the case clock moved on to the next timer, as Spiff's are driven
                    continue
                step = ready[0].id
                refusals = []
                for person in people:
                    try:
                        case.complete(step, person)
                        break
                    except StepRefused as exc:
                        refusals.append(exc)
                else:
                    return Result(False, f"step '{step}' refused to everyone: {refusals[-1]}")
                if time.monotonic() - started > WALL_BUDGET:
                    break
            return Result(False, f"step budget of {STEP_BUDGET} spent")
    except Budget as exc:
        return Result(False, str(exc))
    except ApprovalflowError as exc:
        return Result(False, f"fails at step '{step}': " + error_text(exc) if step else "fails: " + error_text(exc))
    except Exception as exc:  # a traceback from approvalflow is a result too (and a defect)
        return Result(False, "crashes: " + error_text(exc))


def _where(exc: Any) -> str:
    parts = [f"line {exc.line}" if exc.line else "", f"element '{exc.element}'" if exc.element else ""]
    return f" ({', '.join(p for p in parts if p)})" if any(parts) else ""


def _case_waiting(case: Any) -> str:
    from SpiffWorkflow.util.task import TaskState

    waiting = case.engine_workflow.get_tasks(state=TaskState.WAITING)
    if not waiting:
        return "no step ready or waiting, not completed"
    return "no step ready; the engine waits on " + _waiting(waiting)


# -- simulate, validate, render -----------------------------------------------------------------------------------
def run_simulate(model: Path) -> str:
    from approvalflow.errors import ApprovalflowError
    from approvalflow.simulation.compile import compile_bpmn

    try:
        graph = compile_bpmn(model)
    except ApprovalflowError as exc:
        return "refused: " + getattr(exc, "message", str(exc)) + _where(exc)
    except Exception as exc:
        return "crashes: " + error_text(exc)
    return f"compiles ({len(graph.nodes)} nodes)" if hasattr(graph, "nodes") else "compiles"


def run_validate(model: Path) -> tuple[list[str], str]:
    """(the rule ids of the errors, the cell)."""
    from corpus_scripts import bindings

    from approvalflow.validation import validate_file

    try:
        found = validate_file(model, host_functions=bindings(model))
    except Exception as exc:
        return ["crash"], "crashes: " + error_text(exc)
    errors = Counter(f.rule for f in found if f.severity == "error")
    warnings_ = sum(1 for f in found if f.severity == "warning")
    rules = sorted(errors)
    text = ", ".join(f"{r} ×{errors[r]}" if errors[r] > 1 else r for r in rules) or "no errors"
    return rules, f"{text}; {warnings_} warning{'s' if warnings_ != 1 else ''}"


def run_render(model: Path) -> str:
    from approvalflow.render import render_views

    try:
        views = render_views(model)
    except Exception as exc:
        return "fails: " + getattr(exc, "message", error_text(exc))
    return f"{len(views)} diagram{'s' if len(views) != 1 else ''}"


# -- the work list ------------------------------------------------------------------------------------------------
#: Short reasons, by what the message of approvalflow says (the first that matches).
REASONS = [
    ("is not run by approvalflow", "an extension of another engine (docs/format.md)"),
    ("interrupting event sub-process", "an interrupting event sub-process (SpiffWorkflow 3.2 interrupts nothing)"),
    ("script", "script task (no host function reproduces its script: scripts/corpus_scripts.py)"),
    ("ids must be unique", "an id used in a process and in a process it calls (steps are keyed by id)"),
    ("timer", "timer the engine refuses by name (repeating, start or event-gateway timer)"),
    ("message", "message event (no API delivers it)"),
    ("signal", "signal event (no API delivers it)"),
    ("expression", "expression outside the safe language"),
    ("condition", "condition evaluation"),
    ("unknown name", "condition evaluation"),
    ("data store", "data store"),
    ("ad-hoc", "ad-hoc sub-process"),
    ("multi-instance", "multi-instance"),
    ("cardinality", "multi-instance"),
    ("call activity", "call activity"),
    ("service", "service task"),
    ("escalation", "escalation event"),
    ("error", "error event"),
    ("conditional", "conditional event"),
]


def reason(text: str) -> str:
    low = text.lower()
    return next((why for key, why in REASONS if key in low), "see the approvalflow column")


# -- the table ----------------------------------------------------------------------------------------------------
def row(model: Path, corpus: Path) -> tuple[list[str], bool, bool, bool]:
    """The cells of one model, whether Spiff completes it, whether approvalflow does, whether it is marked."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        spiff_ok, spiff = run_spiff(model)
        af = run_approvalflow(model)
        simulate = run_simulate(model)
        _, validate = run_validate(model)
        render = run_render(model)
    marked = spiff_ok and not af.completed
    work = reason(af.text) if marked else ""
    name = model.relative_to(corpus).as_posix()
    cells = [f"`{name}`", spiff, af.text, simulate, validate, render, work]
    return [one_line(c, corpus) if i else c for i, c in enumerate(cells)], spiff_ok, af.completed, marked


HEAD = """# SpiffWorkflow's test models, run four ways

<!-- Written by scripts/corpus_table.py; tests/test_corpus.py checks that it is current. Do not edit by hand. -->

The BPMN files of SpiffWorkflow's own test suite (`tests/SpiffWorkflow/bpmn/data/`, kept beside the repository in
`../shared/corpus/spiffworkflow-tests/`, LGPL 3.0) are a corpus of real BPMN nobody here wrote. Each of its {total}
models (every `*.bpmn` and `*.bpmn20.xml` file) is run on bare SpiffWorkflow and on approvalflow, compiled for the
simulator, validated and rendered; `python scripts/corpus_table.py` rewrites this page.

- **Spiff**: bare SpiffWorkflow {spiff_version} (its own Python script engine), the model and the other files of
  its folder parsed, user and manual tasks completed with empty data, engine steps and waiting timers driven
  (at most {steps} tasks and {wall:g} s per model).
- **approvalflow**: `load_process`, `start_case` in a one-unit organisation whose people hold every post the model
  names, every ready step completed with empty data by a person the rules permit, the case clock moved to the next
  timer when the case waits only on timers (same budgets); or the refusal.
  Each script task whose script `scripts/corpus_scripts.py` writes again as a host function is bound to it
  (`load_process(..., script_tasks=...)`); the scripts themselves are never run.
- **simulate**: `compile_bpmn` only (the model the simulator would run), not a simulation.
- **validate**: `validate_file` told of the same host functions: the rules of its errors, and the number of
  warnings.
- **render**: `render_views`: the number of diagrams, or the error.
- **issue 16**: rows where SpiffWorkflow completes the model and approvalflow does not, with a short reason:
  the work list of [issue 16](#the-work-list) item 7.

Issue 16 quoted 54 and 29 completions from an earlier run whose driver was not kept. This driver gives every task
empty data, so a model whose gateway reads a form field (`choice == 'Yes'`) stops on both engines alike and counts
for neither; a model that needs a message, a signal or a DMN table waits or fails on both.

## Counts

| | models |
|---|---:|
| in the corpus | {total} |
| bare SpiffWorkflow completes | {spiff} |
| approvalflow completes | {af} |
| approvalflow completes, of those SpiffWorkflow completes | {both} |
| approvalflow refuses at load (`load_process`) | {refused} |
| `validate` reports no error | {clean} |
| `compile_bpmn` compiles | {compiles} |
| `render` draws | {renders} |
| marked (SpiffWorkflow completes, approvalflow does not) | {marked} |
| both complete, and `validate` reports an error | {both_flagged} |

## The work list

{worklist}

## The table

| model | Spiff | approvalflow | simulate | validate | render | issue 16 |
|---|---|---|---|---|---|---|
"""


def table(corpus: Path) -> str:
    from importlib.metadata import version

    rows = []
    counts: Counter[str] = Counter()
    for model in models(corpus):
        cells, spiff_ok, af_ok, marked = row(model, corpus)
        rows.append(cells)
        counts["total"] += 1
        counts["spiff"] += spiff_ok
        counts["af"] += af_ok
        counts["both"] += spiff_ok and af_ok
        counts["refused"] += cells[2].startswith("refused")
        counts["clean"] += cells[4].startswith("no errors")
        counts["compiles"] += cells[3].startswith("compiles")
        counts["renders"] += "diagram" in cells[5] and not cells[5].startswith("fails")
        counts["marked"] += marked
        counts["both_flagged"] += spiff_ok and af_ok and not cells[4].startswith("no errors")
    by_reason = Counter(r[6] for r in rows if r[6])
    worklist = "\n".join(f"- {why}: {n}" for why, n in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    head = HEAD.format(
        spiff_version=version("SpiffWorkflow"),
        steps=STEP_BUDGET,
        wall=WALL_BUDGET,
        worklist=worklist or "Nothing: approvalflow completes every model SpiffWorkflow completes.",
        **{
            k: counts[k]
            for k in (
                "total",
                "spiff",
                "af",
                "both",
                "refused",
                "clean",
                "compiles",
                "renders",
                "marked",
                "both_flagged",
            )
        },
    )
    return head + "".join("| " + " | ".join(cells) + " |\n" for cells in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the corpus folder (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the page to write (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the page is not current; write nothing")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    text = table(args.corpus)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != text:
            print(f"{args.output} is not current: run python scripts/corpus_table.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
