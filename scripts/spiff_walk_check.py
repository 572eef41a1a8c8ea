"""Run every model of SpiffWorkflow's corpus on SpiffWorkflow's workflow and on the engine's, side by side.

    python scripts/spiff_walk_check.py [--corpus DIR]      # exit 1 when a model runs differently

A case's workflow (``approvalflow._spiff._Workflow``) is SpiffWorkflow's ``BpmnWorkflow`` with its own tree walks
(``get_tasks`` and the walk over waiting tasks after each completed task: :func:`approvalflow._spiff._iter_tasks`).
This script holds the two equal on the whole corpus: each model is run twice in lockstep, as
``scripts/corpus_table.py`` runs it on bare SpiffWorkflow (engine steps, the first ready manual task completed
with empty data, timers waited for), once on each workflow, and after every action the two must hold the same
tasks in the same states in the same order (SpiffWorkflow's own iterator, sub-processes in place) with the same
data, or fail with the same error. A model that waits on a timer may see it fire one round apart in the two runs
(wall-clock timers): such a model is run again, up to three times, before a difference counts.

It runs the corpus's Python scripts with SpiffWorkflow's default script engine: run it only on a corpus you trust
(``tests/test_corpus.py`` runs it in a child process).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

from corpus_table import CORPUS, STEP_BUDGET, WALL_BUDGET, Budget, deadline, models, spiff_parser  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from approvalflow._spiff import _Workflow  # noqa: E402

ATTEMPTS = 3


def picture(wf: Any) -> str:
    """Every task (spec, state, data) in SpiffWorkflow's own walk order, and the workflow's data and end."""
    tasks = [(t.task_spec.name, t.state, t.data) for t in BpmnTaskIterator(wf.task_tree)]
    return json.dumps([tasks, wf.data, wf.completed, wf.success], default=repr, sort_keys=True)


def run(model: Path, kind: type[Any]) -> list[str]:
    """The pictures after each action of one run of ``model`` on workflows of class ``kind`` (a round that
    changes nothing, waiting for a timer, adds none: how many such rounds a timer takes is the wall clock's)."""
    pictures: list[str] = []

    def add(wf: Any) -> None:
        now = picture(wf)
        if not pictures or pictures[-1] != now:
            pictures.append(now)

    started = time.monotonic()
    try:
        with deadline(WALL_BUDGET):
            parser, main = spiff_parser(model)
            wf = kind(parser.get_spec(main), parser.get_subprocess_specs(main))
            for _ in range(STEP_BUDGET):
                wf.refresh_waiting_tasks()
                wf.do_engine_steps()
                add(wf)
                if wf.is_completed():
                    break
                ready = wf.get_tasks(state=TaskState.READY, manual=True)
                if ready:
                    ready[0].run()
                    add(wf)
                    continue
                if not wf.get_tasks(state=TaskState.WAITING) or time.monotonic() - started > WALL_BUDGET - 0.5:
                    break
                time.sleep(0.02)
    except Budget as exc:
        pictures.append(f"budget: {exc}")
    except Exception as exc:  # the corpus is run as it is: a failure is a result, and must be the same
        pictures.append(f"fails: {type(exc).__name__}: {exc}".split(" at 0x")[0])
    return pictures


def same(model: Path) -> tuple[bool, int]:
    """Whether the two workflows run ``model`` alike (within :data:`ATTEMPTS`), and the pictures compared."""
    for _ in range(ATTEMPTS):
        theirs, ours = run(model, BpmnWorkflow), run(model, _Workflow)
        if theirs == ours:
            return True, len(theirs)
    return False, len(theirs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    found = models(args.corpus)
    if not found:
        print(f"no model under {args.corpus}", file=sys.stderr)
        return 1
    differ, compared = [], 0
    for model in found:
        ok, n = same(model)
        compared += n
        if not ok:
            differ.append(model.relative_to(args.corpus).as_posix())
    print(f"{len(found)} models, {compared} states compared, {len(differ)} differ")
    for name in differ:
        print(f"differs: {name}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
