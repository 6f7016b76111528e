"""The portal's entry point. For now: the datasets and their sizes, as the public tier sees them."""

import streamlit as st

from core.codebook import load_codebook
from core.query import total
from core.settings import DATASETS, MissingSecret
from core.store import ensure_built

st.set_page_config(page_title="Mixed-migration data portal", layout="wide")
st.title("Mixed-migration data portal")

with st.spinner("Building the synthetic datasets (first start only)..."):
    ensure_built()

try:
    sizes = {name: total(name, tier="public") for name in DATASETS}
except MissingSecret as e:
    st.error(f"The portal is not configured: {e}")
    st.stop()

st.warning("These data are synthetic: generated to resemble 4Mi's published topics and figures, "
           "not answers from real people.")
cols = st.columns(len(DATASETS))
for col, name in zip(cols, DATASETS):
    codebook = load_codebook(name)
    col.metric(codebook.title("en"), f"{sizes[name]:,}", help=codebook.description("en"))
st.caption("Public figures are protected: counts are slightly perturbed (see the disclosure rules).")
