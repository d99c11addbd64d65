"""Parsing, chunking, embedding, storage and retrieval of news articles.

This package knows nothing about questions and answers; `assistant` builds on it.
"""
