"""Third-party QBO clients against the emulator."""
