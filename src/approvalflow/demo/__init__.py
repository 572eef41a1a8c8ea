"""The demonstrations run by ``approvalflow demo`` and ``approvalflow supervise demo``.

Top layer (beside :mod:`approvalflow.cli`): imports anything below.
"""
