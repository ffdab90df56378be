"""Operator-editable prompt templates and knowledge snippets (installed as repbot.prompts)."""
