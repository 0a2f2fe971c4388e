"""Test doubles that users can run too: an emulator of the Jenkins REST layer."""
