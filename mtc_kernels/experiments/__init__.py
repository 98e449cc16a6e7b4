"""Experiments built on the package: the Mackey-Glass regression of the MTC paper
(:mod:`.mackey_glass`, with its data in :mod:`.mg_data` and its networks in
:mod:`.mg_models`)."""
