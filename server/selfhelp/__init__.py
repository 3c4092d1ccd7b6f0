"""Self-help: Markdown articles, a BM25 search over them, and an automated assistant that
answers from them (and never gives medical advice)."""
