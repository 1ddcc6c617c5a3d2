"""Where ``MatchingData`` comes from: the real kandij loader, the synthetic generator, train/test splits."""
