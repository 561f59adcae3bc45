"""memsuite: executable claims about how language models memorize label noise.

Folders by job (README, "Architecture"): tasks/ (synthetic data), train/ (recipes and the
training loop: what determines the weights), store (cached trained models), interp/ (the hook
layer and what is built on it), measure/ (the measurements claims compose), judge/ (claims,
rules, verdicts), run/ (a run's outputs, the ledger, the baseline, report, command line).
"""
