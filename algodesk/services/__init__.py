"""The outside world (network, keyring, storage); no Qt."""
