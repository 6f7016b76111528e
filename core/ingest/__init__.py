"""Loading real survey data: KoBoToolbox/ODK exports with their XLSForm (README, "Loading real data").

    files     what an uploaded file is, safely: size, type from its bytes, zip bombs, encoding, delimiter
    xlsform   the XLSForm: fields, groups, choice lists, labels per language
    mapping   the mapping file: standard variables, sensitive and public flags; the proposal from a form
    build     form + mapping (+ the version a round is added to) -> the variables and the codebook
    reader    an export in any Kobo layout -> the portal's columns, every bad value a located problem
    repeats   repeat groups summarised per respondent: number of entries, answers in any entry, sums
    load      prepare (check: a dry run) and commit (write, read back, swap in); restore; versions
    problems  a located problem (file, sheet, row, column) with its message in en, fr, es
    kobo      writing Kobo-style forms and exports (fixtures, round trip, benchmark, templates)

One row per respondent is the portal's data model: a repeat group's entries (their own sheet of an XLSX
export) are kept as variables of the respondent (core.ingest.repeats), not as a linked table; a CSV export
cannot hold them, and a load from one leaves them out with a warning per group.

Versions on disk and which one is current: core/data/versions.py. The command line: scripts/ingest.py; the
admin page: components/data_updates.py. No Streamlit here.
"""
