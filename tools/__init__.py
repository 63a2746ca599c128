"""Traffic generators: the synthetic hospital (``synth``) and the bench captures and records."""
