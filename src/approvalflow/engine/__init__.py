"""Running cases: the case, its audit trail, saving and restoring it, and its deadlines.

Layer 6: imports the rules and everything below them.
"""
