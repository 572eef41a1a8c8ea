"""BPMN documents: safe parsing, the schemas, the ``af`` annotations, the process model and the loader.

Layer 3: imports :mod:`approvalflow.io`, :mod:`approvalflow.expressions` and :mod:`approvalflow._spiff`.
"""
