"""The portal's core: everything but the pages, with no Streamlit import (the pages and components/ draw).

Grouped by concern; a package imports only those above it in this list, never one below, so there is
no import cycle (tests/unit/test_layers.py checks it):

    settings, i18n, pages, disclosure,  the foundation: configuration and secrets, translations and
    shared_state                        formats, the page registry, the public tier's rules and noise,
                                        where the state replicas share lives (SQLite and files, or
                                        PostgreSQL with PORTAL_DATABASE_URL)
    auth/       who may do what: users, sign-in sessions, the sign-in throttle, roles, the audit log
    data/       the datasets: codebooks, versions on disk, the synthetic generator, the query engine
                (DuckDB tables of the current version), places and maps' geography
    query/      every figure's numbers: the public Python API (core.query), the crosstab builder's
                pivot, filters from links, microdata extracts and file exports
    figures/    figure builders: Altair charts, map layers, pivot views and question figures, each
                taking the query function as an argument; the Overview's coverage from its table
    explainer/  the explainer mode: stories and the guided tour
    ingest/     loading real KoBoToolbox/ODK surveys

The public Python API is `core.query` (shares, total, crosstab, summary, distribution, flows,
microdata...) and `core.query.pivot` (also importable as `core.pivot`).
"""
