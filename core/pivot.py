"""The crosstab builder's pivot, under the name it has always had: the module is core/query/pivot.py."""

from core.query.pivot import *  # noqa: F401,F403
from core.query.pivot import __all__  # noqa: F401
