"""Feeds for the serving side: cache keys, prompt templates, the response cache and the retrieval gate."""
