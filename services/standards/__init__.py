"""The standards and targets the rules, the API and the dashboards judge by, each once.

- ``hj633``: the AQI (HJ 633-2012 / HJ 633-2026): breakpoints, levels, categories,
  colours, and the formula;
- ``gb3095``: ambient limits by date (GB 3095-2012, GB 3095-2026 transition and final);
- ``gb18918``: WWTP effluent limits (GB 18918-2002);
- ``targets``: the district's 2025 targets.

Pure data and functions; imports nothing from ``services`` but itself.
"""

from services.standards import gb3095, gb18918, hj633, targets

__all__ = ["gb3095", "gb18918", "hj633", "targets"]
