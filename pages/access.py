"""Researcher access (public): the form a visitor fills in to ask for microdata, with the terms of use of
each dataset chosen to accept. The request is recorded by core.auth.grants (and in the audit log) for
an admin to approve or refuse on the admin page; a request with a missing or wrong field is refused
with a message in the visitor's language, and nothing is recorded."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from components.grants import refused, store
from components.shell import context
from core.auth.grants import GrantError, terms_text, today
from core.data import versions
from core.data.engine import dataset_name
from core.i18n import t

_SENT = "access_sent"  # the outcome of the last request of this browser session: (id, e-mail)


def render() -> None:
    ctx = context("access")
    if ctx is None:
        return
    lang = ctx.lang
    st.title(t("access.title", lang))
    st.markdown(t("access.intro", lang))
    if (sent := st.session_state.get(_SENT)) is not None:
        # The form is not drawn in this run, so that its widgets start empty for another request.
        st.success(t("access.sent", lang, id=sent[0], email=sent[1]), icon=":material/mark_email_read:")
        if st.button(t("access.another", lang), key="access_another", icon=":material/add:"):
            st.session_state.pop(_SENT, None)
            st.rerun()
        return
    known = versions.datasets()
    chosen = st.multiselect(t("access.field.datasets", lang), known, key="access_datasets",
                            format_func=lambda d: dataset_name(d, lang),
                            placeholder=t("access.datasets_placeholder", lang))
    st.subheader(t("access.terms_heading", lang))
    if not chosen:
        st.caption(t("access.terms_hint", lang))
    for dataset in chosen:
        with st.expander(dataset_name(dataset, lang), expanded=len(chosen) == 1, icon=":material/gavel:"):
            st.markdown(terms_text(dataset, lang, dataset_name(dataset, lang)))
    with st.form("access_request", border=True):
        left, right = st.columns(2)  # a row at a time: on a phone the fields stack in this order
        name = left.text_input(t("access.field.name", lang), key="access_name", max_chars=100)
        organisation = right.text_input(t("access.field.organisation", lang), key="access_organisation",
                                        max_chars=200)
        left, right = st.columns(2)
        email = left.text_input(t("access.field.email", lang), key="access_email", max_chars=254)
        until = right.date_input(t("access.field.until", lang), value=today() + dt.timedelta(days=180),
                                 key="access_until", format="YYYY-MM-DD")
        purpose = st.text_area(t("access.field.purpose", lang), key="access_purpose", max_chars=2000)
        terms = st.checkbox(t("access.field.terms", lang), key="access_terms")
        submitted = st.form_submit_button(t("access.submit", lang), icon=":material/send:", type="primary")
    if submitted:
        try:
            request = store().request(name=name, organisation=organisation, email=email, purpose=purpose,
                                      datasets=chosen, until=until, terms_accepted=terms, known=known, lang=lang)
        except GrantError as e:
            st.error(refused(e, lang), icon=":material/error:")
            return
        st.session_state[_SENT] = (request.id, request.email)
        st.rerun()


if __name__ == "__main__":  # run as a script by Streamlit, not imported by the router: see hand_to_router
    from components.shell import hand_to_router

    hand_to_router(__file__)
