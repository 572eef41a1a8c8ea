"""The rules checked at every step (segregation, recusal, collective decisions, time limits...) and their registry.

Layer 5: imports :mod:`approvalflow.org`, :mod:`approvalflow.time` and :mod:`approvalflow.bpmn`.
"""
