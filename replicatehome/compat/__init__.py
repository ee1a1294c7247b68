"""Compatibility layers for code written against other libraries' interfaces.

- `replicatehome.compat.g4f`: ``ReplicateHome``, the gpt4free provider this project grew from,
  with its interface unchanged and the SDK underneath. See ``docs/migrating-from-gpt4free.md``.

Nothing here is imported by ``import replicatehome``: import the submodule you need.
"""
