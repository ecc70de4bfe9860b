"""The OpenAI-compatible API's rules: chat templates, and OpenAI bodies as native requests."""
