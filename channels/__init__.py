"""Partners, channels, the channel map and customer interaction points.

Named `channels` by the design; it is this project's app, not Django Channels (never installed):
the app config sets an explicit label and tests prove `import channels` resolves here."""
