"""The eval suite: hand-written reference Q&A (``reference.jsonl``) and the metrics over it."""
