"""User interfaces: the `newsqa` command line and the Gradio chat."""
