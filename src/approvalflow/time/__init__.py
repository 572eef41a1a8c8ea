"""Time on China's calendar: the clock, working days, periods and deadlines.

Layer 4: imports :mod:`approvalflow.bpmn.model` and :mod:`approvalflow.io` only.
"""
