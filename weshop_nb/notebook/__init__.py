"""The notebook layer: the ``%weshop`` magic, its argument parsing and prompts, and the
ipywidgets studio. Calls the work layer; never sends HTTP itself."""
