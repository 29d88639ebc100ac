"""The web pipeline (WEB in seedlib/pipelines.py, DAG seed_web, `seed web`): code-related web pages from
WARC files, published at `<root>/web/dt=D/` (docs/web.md)."""
