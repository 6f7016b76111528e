"""The datasets.

    codebook   a dataset's variables, themes, labels in three languages, types and flags (read from YAML)
    versions   a dataset's versions on disk, which one is current, restore
    store      writing a dataset (Parquet) atomically; building the synthetic data on first run
    synthetic  the synthetic generator of the three built-in datasets
    engine     the query engine: DuckDB tables of each dataset's current version, shared by all sessions;
               `current_codebook` is the codebook of the data it reads
    geo        countries, towns and map outlines

Imports the foundation (core.settings, core.i18n, core.disclosure for the engine's noise) and nothing
else of core.
"""
