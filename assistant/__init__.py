"""Answering questions over indexed news articles, with verifiable citations."""
