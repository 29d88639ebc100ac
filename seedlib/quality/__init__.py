"""Quality labels for code files: the oracles that rate files 0-10 (the report's LLM rubric) and their defaults."""
