"""Streamlit alone: a page with nothing on it but one figure, for scripts/bench_browser.py to time beside the
portal's pages, so that the bench says how much of the time to a first chart is Streamlit's own frontend
(its scripts, the figure's lazy chunk, Vega or deck.gl drawing) and how much is the rest of our page.

    streamlit run scripts/bench_alone.py     then open /?figure=vega or /?figure=deck

figure=vega  one small Altair bar chart (st.altair_chart), no sidebar, no other element;
figure=deck  the route map's default deck as the map page draws it (core.figures.map_layers.deck: the sea,
             the country outlines and their borders fetched from app/static, the country markers, and
             the public flows of the default dataset, unfiltered), with st.pydeck_chart at the map's
             height.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core import query
from core.figures import map_layers as rm
from core.settings import DATASETS

figure = st.query_params.get("figure", "vega")
if figure == "deck":
    dataset = DATASETS[0]
    kind = next(k for k in query.flow_kinds(dataset) if k != "route")
    layer = rm.flow_layer(query.flows(dataset, kind, tier="public"), "en", kind=kind)
    st.pydeck_chart(rm.deck([layer], "en", set()), height=rm.MAP_HEIGHT)
else:
    bars = pd.DataFrame({"answer": list("ABCDEFGH"), "share": [0.31, 0.22, 0.14, 0.11, 0.09, 0.07, 0.04, 0.02]})
    st.altair_chart(alt.Chart(bars).mark_bar().encode(x="share:Q", y=alt.Y("answer:N", sort="-x")))
