"""Sphinx configuration for the S2 for Python documentation."""

from pathlib import Path

project = "S2 for Python"
author = "S2 for Python contributors"
release = (Path(__file__).resolve().parents[1] / "VERSION").read_text().strip()

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
html_theme = "furo"
html_title = f"S2 for Python {release}"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_use_ivar = True  # "Attributes:" sections as fields: named-tuple fields are documented once
# `S2` names both the async client and its blocking facade; an unqualified annotation
# in a plugin's signature resolves to the first, which is fine.
suppress_warnings = ["ref.python"]
