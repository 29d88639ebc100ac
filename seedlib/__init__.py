"""seedlib: the library behind the Seed-Coder-style code data pipeline (all real logic lives here)."""
