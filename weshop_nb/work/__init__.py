"""The work layer: launches and remembers (jobs, the launch plan, runs and their watchers,
records, history, comparisons, static HTML, the session). Knows pandas and sqlite3, never
IPython or ipywidgets; the notebook layer plugs its views in through ``_hooks``."""
