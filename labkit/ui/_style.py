"""The panel's look, scoped to ``.labkit-panel`` and built on JupyterLab's theme variables.

Shipped as a ``<style>`` element inside the panel (an HTML widget), so it needs no lab
extension and follows light and dark themes. Without it (a static export) the panel still
works; it only looks plainer.
"""

from __future__ import annotations

__all__ = ["FULL_ROW", "GRID_COLUMNS", "STYLE"]

# A cell spanning every column of its grid row. Written as grid-area because ipywidgets
# 8.1 removes the (null) grid-area shorthand after setting grid-column, which erases it.
FULL_ROW = "auto / 1 / auto / -1"

# label | control and unit | read-back | status
GRID_COLUMNS = "minmax(110px, max-content) 345px max-content minmax(180px, 1fr)"

STYLE = """
<style>
.labkit-panel {
  border: 1px solid var(--jp-border-color2, #e0e0e0);
  border-radius: 4px;
  padding: 0 0 6px 0;
  max-width: 1000px;
  background: var(--jp-layout-color1, white);
  font-size: var(--jp-ui-font-size1, 13px);
}
.labkit-panel .labkit-header {
  background: var(--jp-layout-color2, #f5f5f5);
  border-bottom: 1px solid var(--jp-border-color2, #e0e0e0);
  padding: 2px 6px 2px 10px;
  margin-bottom: 6px;
}
.labkit-panel .labkit-title { line-height: 1.3; }
.labkit-panel .labkit-name {
  font-weight: 600;
  font-size: var(--jp-ui-font-size2, 14px);
  margin-right: 10px;
}
.labkit-panel .labkit-model { color: var(--jp-ui-font-color1, #333); margin-right: 10px; }
.labkit-panel .labkit-resource,
.labkit-panel .labkit-muted,
.labkit-panel .labkit-unit { color: var(--jp-ui-font-color2, #757575); }
.labkit-panel .labkit-resource { font-family: var(--jp-code-font-family, monospace); font-size: 90%; }
.labkit-panel .labkit-badge {
  border-radius: 10px;
  padding: 1px 8px;
  font-size: 90%;
  white-space: nowrap;
}
.labkit-panel .labkit-online { color: var(--jp-success-color1, #388e3c); }
.labkit-panel .labkit-offline { color: var(--jp-error-color1, #d32f2f); }
.labkit-panel .labkit-section { padding: 0 10px; }
.labkit-panel .labkit-grid { align-items: center; }
.labkit-panel .labkit-colhead {
  color: var(--jp-ui-font-color2, #757575);
  font-size: 85%;
  text-transform: uppercase;
  letter-spacing: 0.04em;
}
.labkit-panel .labkit-group {
  color: var(--jp-ui-font-color2, #757575);
  font-size: 85%;
  text-transform: uppercase;
  letter-spacing: 0.04em;
  border-top: 1px solid var(--jp-border-color2, #e0e0e0);
  padding-top: 4px;
  margin-top: 4px;
}
.labkit-panel .labkit-label { font-weight: 500; }
.labkit-panel .labkit-value { font-family: var(--jp-code-font-family, monospace); }
.labkit-panel .labkit-reading {
  border: 1px solid var(--jp-border-color2, #e0e0e0);
  background: var(--jp-layout-color2, #f5f5f5);
  border-radius: 2px;
  padding: 0 6px;
  text-align: right;
}
.labkit-panel .labkit-reading { margin-left: 0; }
.labkit-panel .labkit-readback { text-align: right; margin-right: 4px; }
.labkit-panel .labkit-unit { margin-left: 4px; min-width: 1.5em; }
.labkit-panel .labkit-stale { opacity: 0.45; font-style: italic; }
.labkit-panel .labkit-status { font-size: 90%; }
.labkit-panel .labkit-status .widget-html-content { line-height: 1.3; white-space: normal; }
.labkit-panel .labkit-status .labkit-muted { white-space: nowrap; }
.labkit-panel .labkit-locked { color: var(--jp-warn-color1, #f57c00); }
.labkit-panel .labkit-error {
  background: rgba(211, 47, 47, 0.1);
  background: color-mix(in srgb, var(--jp-error-color1, #d32f2f) 12%, transparent);
  border-left: 3px solid var(--jp-error-color1, #d32f2f);
  padding: 0 4px 0 8px;
  margin: 0 0 4px 0;
}
.labkit-panel .labkit-error-text { color: var(--jp-error-color1, #d32f2f); }
.labkit-panel .labkit-error-text .widget-html-content { white-space: normal; line-height: 1.35; }
.labkit-panel .labkit-icon-button {
  background: transparent;
  box-shadow: none;
  color: var(--jp-ui-font-color2, #757575);
  padding: 0;
}
.labkit-panel .labkit-icon-button:hover:enabled { color: var(--jp-brand-color1, #1976d2); }
.labkit-panel .labkit-actions { padding: 6px 0 0 0; gap: 6px; }
.labkit-panel .labkit-running { opacity: 0.6; }
.labkit-panel .labkit-confirm {
  background: color-mix(in srgb, var(--jp-warn-color1, #f57c00) 12%, transparent);
  border-left: 3px solid var(--jp-warn-color1, #f57c00);
  padding: 2px 4px 2px 8px;
  margin: 4px 0;
  gap: 6px;
}
.labkit-panel .labkit-confirm-question .widget-html-content { white-space: normal; }
.labkit-panel .labkit-channels { margin-top: 8px; }
.labkit-panel .widget-slider .widget-readout { min-width: 56px; }
</style>
"""
