"""A run and what it leaves: options shared by pytest and the CLI, the results directory,
the claim catalogue, the ledger, the baseline comparison, the report and the command line."""
