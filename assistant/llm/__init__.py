"""Optional LLM answers (the `[llm]` extra): an OpenAI-compatible endpoint writes the
answer from numbered sentences, and every quote it makes is checked against the
articles before it is shown.

Modules: `answerer` (`LLMAnswerer`: calls, streaming, fallbacks to quotes only),
`prompt` (numbered passages and the answer format), `reply` (parsing the model's reply)
and `verify` (locating each quote verbatim in its article).
"""
