"""Learning platform: four JSON sources into schema medly."""
