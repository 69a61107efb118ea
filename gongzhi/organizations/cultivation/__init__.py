"""育 cultivate: stages with evidence, admission, support, supply lists, assessment rounds and selection."""
