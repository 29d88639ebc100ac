"""Training-ready outputs of a snapshot (the report's sources 2 and 3, and stage 4).

- decontam.py   benchmark word 10-grams; files and samples sharing one are `contaminated`
- context.py    at crawl time, per commit: README, directory listing and BM25 top files of the pre-commit tree
- commits.py    the commit_samples stage: code-change-prediction samples and their ledger
- deps.py       imports resolved per language, for dependency order
- sequences.py  the repo_sequences stage: a repository's kept files concatenated in dependency order
- settings.py   their configuration sections
"""
