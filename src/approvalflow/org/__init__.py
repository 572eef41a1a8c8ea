"""The organisation: units, posts, people, roles, groups and meeting records.

Layer 4: imports :mod:`approvalflow.bpmn` (for the model of a step) and :mod:`approvalflow.io`.
"""
