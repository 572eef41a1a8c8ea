"""The ``approvalflow`` command line: one module per command, :func:`main` in :mod:`.main`.

Top layer: imports anything below; nothing imports it.
"""
