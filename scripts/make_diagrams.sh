#!/usr/bin/env bash
# Regenerate diagrams/ from processes/: the flow view (运行流程图) and the risk view (廉政风险防控图) of every
# BPMN file, as diagrams/<name>.flow.svg and diagrams/<name>.risk.svg; stale SVGs are removed.
# tests/test_render_diagrams_uptodate.py fails until this has been run after a change to a process or to the renderer.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m approvalflow.render.diagrams --processes processes --out diagrams "$@"
