"""Hearth: a facilitator bot for communities of practice on Slack and Microsoft Teams."""
