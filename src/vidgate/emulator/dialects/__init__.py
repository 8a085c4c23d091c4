"""One module per emulated wire dialect; each adds its routes to the emulator app."""
