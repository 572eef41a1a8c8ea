"""Reading and writing files that come from other systems: bounded, regular files only, with positions for errors.

Layer 1: imports only :mod:`approvalflow.errors`. XML (:mod:`.xmlsafe`), YAML (:mod:`.yamlio`), CSV cells
(:mod:`.csvsafe`), input files (:mod:`.inputfiles`) and output files (:mod:`.outputfiles`).
"""
