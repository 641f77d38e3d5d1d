"""Microsoft Teams through botbuilder: every botbuilder import lives in this folder."""
