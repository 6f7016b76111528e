"""The explainer mode for trainers: stories (data/stories/*.yaml, checked against the data) and the
guided tour (its steps, per page). Drawn by components/story.py, components/tour.py and
components/present.py.
"""
