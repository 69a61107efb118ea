"""The social-capital engine (METHOD.md): plain Python over Polars frames, no Django and no ORM.

- ``spec``: indicator ids, dimensions, goalposts, which are scored;
- ``periods``: ``Period`` ("2025", "2025Q1") with ``[start, end)`` dates;
- ``frames``: ``EngineInput``, the frames the extractor feeds in (column names and types are the contract);
- ``config``: ``MeasureConfig``, the settings a computation runs with;
- ``indicators``: one function per formula and ``compute_indicators``;
- ``graphs``: co-participation graphs with python-igraph;
- ``scoring``: normalisation, weights (equal, entropy, expert), dimension scores, composite, diagnosis;
- ``rollup``: population-weighted roll-ups to streets, districts and above;
- ``survey``: Cronbach's alpha and scale scores; ``mechanism``: mediation and fixed effects.
"""
