"""Stages of the fine-tuning dataset flow: read, select, extract, validate, redact, dedupe,
split, write, version, forget; plus the synthetic log generator and the data card."""
