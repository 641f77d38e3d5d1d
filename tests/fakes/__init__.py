"""Loopback fakes for external services used by Hearth tests."""
