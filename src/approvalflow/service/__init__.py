"""The HTTP service (``approvalflow serve``): the API for other systems and the 电子监察 console, over one case store.

Layer 10: built on the library below it (store, engine, supervision, render) with the same rules and trail; it adds
transport, authentication and authorisation, never rules of its own. See ``docs/service.md``.
"""
