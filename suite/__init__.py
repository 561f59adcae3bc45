"""memsuite: executable claims about how language models memorize label noise.

Modules: tasks/ (synthetic data), recipes (model + training configs from models/*.toml),
training (the loop), store (cached trained models), dynamics (reading curves), preconditions
(gates), stats, claims (Claim and Verdict), cli.
"""
