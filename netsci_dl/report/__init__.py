"""The analysis report: a folder with ``index.html``, ``summary.json``, CSV tables and figures.

Orchestration above :mod:`netsci_dl.analysis` (which computes) and :mod:`netsci_dl.io` and
:mod:`netsci_dl.plot` (which write): the only place that combines several analyses. See
:func:`write_report` and :mod:`netsci_dl.report._core` for adding sections.
"""

from __future__ import annotations

from collections.abc import Callable

from netsci_dl.report._core import (
    ReportContext,
    Section,
    figure_html,
    notes_html,
    rel,
    table_html,
    write_report,
)
from netsci_dl.report.ei import ei_section
from netsci_dl.report.modules import modules_section
from netsci_dl.report.network import (
    clusterability_section,
    neurons_section,
    rich_club_motifs_section,
)
from netsci_dl.report.pruning import pruning_section
from netsci_dl.report.spectra import spectra_section
from netsci_dl.report.structure import (
    assortativity_section,
    comparison_section,
    degree_section,
    nodes_section,
    overview_section,
    strength_section,
    weights_section,
)
from netsci_dl.report.sweep import sweep_section

__all__ = [
    "write_report",
    "Section",
    "ReportContext",
    "DEFAULT_SECTIONS",
    "figure_html",
    "table_html",
    "notes_html",
    "rel",
]

#: the builders of the default page, in order
DEFAULT_SECTIONS: list[Callable[[ReportContext], Section | None]] = [
    overview_section,
    comparison_section,
    weights_section,
    strength_section,
    degree_section,
    assortativity_section,
    sweep_section,
    ei_section,
    modules_section,
    neurons_section,
    clusterability_section,
    rich_club_motifs_section,
    spectra_section,
    pruning_section,
    nodes_section,
]
