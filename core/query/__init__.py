"""The portal's Python API: every figure the portal shows comes from these functions.

Usable from a notebook without Streamlit::

    from core.query import crosstab, microdata
    crosstab("core", ["gender"], ["age_band"], filters={"region_of_interview": ["north_africa"]})
    microdata("core", ["respondent_id", "gender", "drivers"], tier="researcher")

    tables   the protected tables (the functions re-exported here); `tier` decides the protection
    pivot    the crosstab builder's pivot: protected cells, margins and measures (also `core.pivot`)
    filters  a view's filters: from and to a link's parameters, the public query space
    extract  microdata extracts: labelled frames, files with their dictionary
    export   CSV, Excel, Stata and Parquet files, with neutralised text cells

Imports core.data and the foundation; extract also writes the audit log (core.auth.audit).
"""

from core.query.tables import (  # noqa: F401
    FLOW_KINDS,
    TIERS,
    NoAnswers,
    UnknownFilter,
    answered,
    categories,
    crosstab,
    distribution,
    flow_kinds,
    flow_variables,
    flows,
    microdata,
    public_bins,
    public_groups,
    shares,
    summary,
    timeseries,
    total,
)
